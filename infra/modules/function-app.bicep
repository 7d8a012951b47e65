// Function app on the Flex Consumption plan (Linux, Node.js 22). Code is deployed by azd into a
// blob container read with the app's user-assigned identity; no publishing credentials exist.
param name string
param planName string
param location string
param tags object = {}
@description('Resource id of the user-assigned identity.')
param identityId string
@description('Blob endpoint of the storage account, ending with /.')
param blobEndpoint string
param deploymentContainerName string
@description('App settings (names and values), set as a whole: a provision replaces every setting, so anything added by hand is removed. main.bicep parameters are the way to change them (docs/operations.md).')
param appSettings object
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int = 40
@allowed([512, 2048, 4096])
param instanceMemoryMB int = 2048
@description('Optional App Service Authentication (Easy Auth) in front of the code-level JWT validation.')
param enableAppServiceAuth bool = false
param authIssuer string = ''
param authClientId string = ''
param authAudience string = ''

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    tier: 'FlexConsumption'
    name: 'FC1'
  }
  properties: {
    reserved: true
  }
}

resource site 'Microsoft.Web/sites@2024-04-01' = {
  name: name
  location: location
  // azd finds the service to deploy to through this tag.
  tags: union(tags, { 'azd-service-name': 'api' })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    // Key Vault references resolve with the user-assigned identity (the default would be a
    // system-assigned identity, which this app does not have).
    keyVaultReferenceIdentity: identityId
    siteConfig: {
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${blobEndpoint}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
      // Node.js 22 (Node 20 reached end of life in April 2026; package.json engines is >=22 <23).
      runtime: {
        name: 'node'
        version: '22'
      }
    }
  }

  resource settings 'config' = {
    name: 'appsettings'
    properties: appSettings
  }

  // No basic-auth (publishing profile) deployments: azd deploys with an Entra ID token.
  resource scmBasicAuth 'basicPublishingCredentialsPolicies' = {
    name: 'scm'
    properties: { allow: false }
  }
  resource ftpBasicAuth 'basicPublishingCredentialsPolicies' = {
    name: 'ftp'
    properties: { allow: false }
  }

  // Optional platform authentication. The app validates tokens itself (jose) either way; Easy Auth
  // only rejects unauthenticated calls earlier. Anonymous paths stay reachable.
  resource easyAuth 'config' = if (enableAppServiceAuth) {
    name: 'authsettingsV2'
    properties: {
      platform: { enabled: true }
      globalValidation: {
        requireAuthentication: true
        unauthenticatedClientAction: 'Return401'
        excludedPaths: [
          '/api/health'
          '/api/openapi.json'
          '/api/docs'
          '/api/v1/integrations/servicenow/change-events'
        ]
      }
      identityProviders: {
        azureActiveDirectory: {
          enabled: true
          registration: {
            openIdIssuer: authIssuer
            clientId: authClientId
          }
          validation: {
            allowedAudiences: [authAudience]
          }
        }
      }
      login: {
        tokenStore: { enabled: false }
      }
    }
  }
}

output name string = site.name
output id string = site.id
output defaultHostName string = site.properties.defaultHostName
