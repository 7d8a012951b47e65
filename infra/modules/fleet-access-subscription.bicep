targetScope = 'subscription'

// Grants the app identity what it needs in one target subscription: Reader (clusters, extensions,
// Flux configurations, policy assignments and states) plus the custom policy role.
param principalId string
@description('Name (GUID) of the custom role definition from fleet-role-definition.bicep.')
param customRoleDefinitionGuid string

var reader = 'acdd72a7-3385-48ef-bd42-f606fba81ae7' // Reader

resource readerAssignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(subscription().id, principalId, reader)
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', reader)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

resource customAssignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(subscription().id, principalId, customRoleDefinitionGuid)
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', customRoleDefinitionGuid)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}
