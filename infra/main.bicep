// arc-compliance: Azure Functions (Flex Consumption, Node.js 22) reading Azure Arc-enabled
// Kubernetes, Azure Policy and Policy Insights with a user-assigned managed identity.
//
// Scope: subscription. azd provisions Bicep at subscription scope (as the Azure Functions azd
// templates do) so this file can create the resource group and grant the identity Reader + the
// custom policy role in each target subscription. A management group target cannot be reached
// from a subscription deployment: set AZURE_MANAGEMENT_GROUP_ID and the postprovision hook deploys
// management-group-access.bicep instead (docs/operations.md).
targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('azd environment name; used to name resources and tag them (azd-env-name).')
param environmentName string

@minLength(1)
@description('Region of every resource; it must offer the Flex Consumption plan (az functionapp list-flexconsumption-locations).')
@metadata({ azd: { type: 'location' } })
param location string

@description('Resource group name; default rg-<environmentName>.')
param resourceGroupName string = ''

@description('Object id of the deploying user (azd sets AZURE_PRINCIPAL_ID): allowed to set Key Vault secrets. Empty to skip.')
param principalId string = ''

@allowed(['User', 'Group', 'ServicePrincipal'])
param principalType string = 'User'

@description('Entra ID v2 issuer of callers\' tokens. Empty: this tenant (https://login.microsoftonline.com/{tenant}/v2.0).')
param authIssuer string = ''

@minLength(1)
@description('Client id (appId) of the API app registration: the `aud` of v2 access tokens. infra/scripts/create-app-registration.sh prints it and stores it with `azd env set AUTH_AUDIENCE`.')
param authAudience string

@description('Management group id whose subscriptions are evaluated. When set, target subscriptions are ignored and the postprovision hook grants the identity at the management group.')
param managementGroupId string = ''

@description('Comma-separated subscription ids to evaluate and grant (subscription-list mode). Empty: this subscription.')
param targetSubscriptionIds string = ''

@description('NCRONTAB (6 fields) schedule of the nightly evaluation, UTC. Empty: 0 0 2 * * * (02:00 daily).')
param evaluationSchedule string = ''

@description('CONTROLPLANE_WATCH_SCHEDULE: NCRONTAB of the Activity Log watch (default every 15 minutes).')
param controlPlaneWatchSchedule string = ''

@minValue(1)
@maxValue(64)
@description('Concurrent ARM requests per subscription collector (ARM_MAX_CONCURRENCY).')
param armMaxConcurrency int = 4

@minValue(1)
@maxValue(146000)
@description('EVIDENCE_RETENTION_DAYS: days every evidence blob stays immutable (time-based retention on the evidence container; app default 400).')
param evidenceRetentionDays int = 400

@minValue(1)
@maxValue(1000)
@description('Upper bound of Flex Consumption instances; with queue batchSize and ARM_MAX_CONCURRENCY it bounds the ARM request rate (docs/operations.md).')
param maximumInstanceCount int = 40

// Webhooks and ServiceNow (docs/webhooks.md, docs/operations.md "Configure ServiceNow"). The secret
// settings are Key Vault references that are only set once switched on: an unresolved reference holds
// the literal `@Microsoft.KeyVault(...)` text, which the app refuses at start for WEBHOOK_SECRET_KEY and
// SERVICENOW_CHANGE_WEBHOOK_SECRET. Create the Key Vault secret first, then switch the setting on.
@description('\'true\' once the Key Vault secret webhook-secret-key exists: sets WEBHOOK_SECRET_KEY (webhooks can be created).')
param enableWebhooks string = ''

@description('ServiceNow authentication of servicenow-* webhooks: basic or oauth (secrets servicenow-password / servicenow-client-secret in Key Vault); empty leaves ServiceNow off. Needs serviceNowInstanceUrl.')
@allowed([
  ''
  'basic'
  'oauth'
])
param serviceNowAuth string = ''

@description('Origin of the ServiceNow instance (https://<instance>.service-now.com), required with serviceNowAuth: the only origin credentials are sent to; servicenow-* webhooks must use it as their url.')
param serviceNowInstanceUrl string = ''

@description('ServiceNow user (basic auth, or the OAuth password grant).')
param serviceNowUsername string = ''

@description('ServiceNow OAuth client id (oauth).')
param serviceNowClientId string = ''

@description('Incident assignment_group (name or sys_id) of compliance incidents.')
param serviceNowAssignmentGroup string = ''

@description('\'true\' once the Key Vault secret servicenow-change-webhook-secret exists: sets SERVICENOW_CHANGE_WEBHOOK_SECRET (inbound change approvals).')
param enableServiceNowChangeEvents string = ''

@description('Turn on App Service Authentication in front of the app (optional; the app validates tokens itself).')
param enableAppServiceAuth bool = false

@description('Cloud role name of the app in Application Insights (cloud_RoleName). Empty: arc-compliance.')
param cloudRoleName string = ''

// Optional app settings. Each parameter is the value of the app setting of the same name (config/settings.ts
// SETTINGS) and is fed by the azd environment variable of that name (main.parameters.json): for example
// `azd env set WEBHOOK_ALLOWLIST 10.20.0.0/16` then `azd provision`. Empty leaves the setting out, so the
// app's documented default applies. The app validates them at start and names every invalid one.
// The site's app settings are written as a whole on every provision: set them here, never by hand.
@description('HISTORY_RETENTION_DAYS: days of per-cluster history kept (app default 90).')
param historyRetentionDays string = ''

@description('BREAK_GLASS_LOOKBACK_DAYS: days before a run in which an admin kubeconfig download fails ARC-TD-04 (app default 30, at most 90).')
param breakGlassLookbackDays string = ''

@description('AUTH_JWKS_URI: JWKS URI of the token issuer (default: discovered from AUTH_ISSUER).')
param authJwksUri string = ''

@description('ROLLOUT_GATE_RECHECK_SECONDS: re-check period of a blocked rollout gate (app default 900).')
param rolloutGateRecheckSeconds string = ''

@description('ROLLOUT_VERIFY_TIMEOUT_SECONDS: how long a rollout waits for deny results after apply (app default 3600).')
param rolloutVerifyTimeoutSeconds string = ''

@description('REMEDIATION_CHECK_DELAY_SECONDS: delay of the first background check of a started remediation (app default 60).')
param remediationCheckDelaySeconds string = ''

@description('REMEDIATION_CHECK_MAX_HOURS: hours after which background checks of an unfinished remediation give up (app default 48).')
param remediationCheckMaxHours string = ''

@description('WEBHOOK_ALLOWLIST: comma-separated hosts, host:port or CIDRs webhooks may reach despite private addresses (app default: none).')
param webhookAllowlist string = ''

@description('MAX_REQUEST_BODY_BYTES: largest accepted request body (app default 65536).')
param maxRequestBodyBytes string = ''

@description('WEBHOOK_DELIVERY_RETENTION_DAYS: days webhook delivery records are kept (app default 30).')
param webhookDeliveryRetentionDays string = ''

@description('SERVICENOW_CATEGORY: incident category of compliance incidents (app default software).')
param serviceNowCategory string = ''

@description('DASHBOARD_CLIENT_ID: client id the dashboard signs people in with (create-app-registration.sh --azd sets it to the API registration, which gets the SPA redirect URI).')
param dashboardClientId string = ''

var abbreviations = {
  resourceGroup: 'rg-'
  identity: 'id-'
  storage: 'st'
  plan: 'plan-'
  functionApp: 'func-'
  logAnalytics: 'log-'
  applicationInsights: 'appi-'
  keyVault: 'kv-'
}
var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = { 'azd-env-name': environmentName, application: 'arc-compliance' }
var functionAppName = '${abbreviations.functionApp}api-${resourceToken}'
var deploymentContainerName = 'app-package-${take(resourceToken, 7)}'

// Queue names come from application/messages.ts (QUEUES, ROLLOUT_QUEUES, WEBHOOK_QUEUES, REMEDIATION_QUEUES,
// CONTROL_PLANE_QUEUES); test/infra checks they are all here. The `-poison` queues the app consumes are listed
// too (a queue trigger needs its queue); the host creates any other `<queue>-poison` queue itself when it
// first needs one.
var queueNames = [
  'evaluation-collect'
  'evaluation-finalize'
  'evaluation-collect-poison'
  'evaluation-finalize-poison'
  'rollout-steps'
  'rollout-steps-poison'
  'webhook-deliveries'
  'webhook-deliveries-deadletter'
  'remediation-checks'
  'remediation-checks-poison'
  'controlplane-watch'
  'controlplane-watch-poison'
]

// The API's app roles as the registration script creates them (output CALLER_APP_ROLES). The API itself
// checks the names in adapters/http/app-roles.ts; test/infra/app-registration.test.ts keeps both in step.
var appRoles = loadJsonContent('app-roles.json')

// azd passes an unset environment variable as '', so defaults are applied here, not in the params.
var effectiveAuthIssuer = empty(authIssuer) ? '${environment().authentication.loginEndpoint}${tenant().tenantId}/v2.0' : authIssuer
var effectiveEvaluationSchedule = empty(evaluationSchedule) ? '0 0 2 * * *' : evaluationSchedule
var effectiveControlPlaneWatchSchedule = empty(controlPlaneWatchSchedule) ? '0 */15 * * * *' : controlPlaneWatchSchedule
var effectiveCloudRoleName = empty(cloudRoleName) ? 'arc-compliance' : cloudRoleName

var useManagementGroup = !empty(managementGroupId)
var requestedSubscriptionIds = filter(map(split(targetSubscriptionIds, ','), s => toLower(trim(s))), s => !empty(s))
var fleetSubscriptionIds = empty(requestedSubscriptionIds) ? [subscription().subscriptionId] : requestedSubscriptionIds
var fleetRoleName = 'arc-compliance policy operator (${environmentName}, ${resourceToken})'

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: !empty(resourceGroupName) ? resourceGroupName : '${abbreviations.resourceGroup}${environmentName}'
  location: location
  tags: tags
}

module identity 'modules/identity.bicep' = {
  name: 'identity'
  scope: rg
  params: {
    name: '${abbreviations.identity}api-${resourceToken}'
    location: location
    tags: tags
  }
}

module storage 'modules/storage.bicep' = {
  name: 'storage'
  scope: rg
  params: {
    name: '${abbreviations.storage}${resourceToken}'
    location: location
    tags: tags
    deploymentContainerName: deploymentContainerName
    queueNames: queueNames
    principalId: identity.outputs.principalId
    evidenceRetentionDays: evidenceRetentionDays
  }
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    logAnalyticsName: '${abbreviations.logAnalytics}${resourceToken}'
    applicationInsightsName: '${abbreviations.applicationInsights}${resourceToken}'
    location: location
    tags: tags
    principalId: identity.outputs.principalId
  }
}

module keyVault 'modules/key-vault.bicep' = {
  name: 'key-vault'
  scope: rg
  params: {
    name: '${abbreviations.keyVault}${resourceToken}'
    location: location
    tags: tags
    principalId: identity.outputs.principalId
    secretsOfficerPrincipalId: principalId
    secretsOfficerPrincipalType: principalType
  }
}

// Key Vault references (versionless: a new secret version is picked up without redeploying).
// The secrets are set by operators (docs/operations.md, "Configure ServiceNow"); until a secret
// exists the reference does not resolve and the app treats the setting as unset.
var secretReference = {
  serviceNowClientSecret: '@Microsoft.KeyVault(SecretUri=${keyVault.outputs.uri}secrets/servicenow-client-secret)'
  serviceNowPassword: '@Microsoft.KeyVault(SecretUri=${keyVault.outputs.uri}secrets/servicenow-password)'
  serviceNowChangeWebhookSecret: '@Microsoft.KeyVault(SecretUri=${keyVault.outputs.uri}secrets/servicenow-change-webhook-secret)'
  webhookSecretKey: '@Microsoft.KeyVault(SecretUri=${keyVault.outputs.uri}secrets/webhook-secret-key)'
}

// Every `requiredInAzure` setting of config/settings.ts is set here (test/infra checks it).
// No FUNCTIONS_WORKER_RUNTIME / FUNCTIONS_EXTENSION_VERSION: Flex Consumption takes the runtime
// from functionAppConfig and rejects those settings.
var appSettings = {
  // Identity-based host and app storage: no connection string, no account key.
  AzureWebJobsStorage__accountName: storage.outputs.name
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: identity.outputs.clientId
  // The account's real endpoints: with only __accountName, the host and the app would assume
  // <account>.<service>.core.windows.net, which is wrong outside the public cloud.
  AzureWebJobsStorage__blobServiceUri: storage.outputs.blobEndpoint
  AzureWebJobsStorage__queueServiceUri: storage.outputs.queueEndpoint
  AzureWebJobsStorage__tableServiceUri: storage.outputs.tableEndpoint
  // DefaultAzureCredential / ManagedIdentityCredential pick the user-assigned identity by this id.
  AZURE_CLIENT_ID: identity.outputs.clientId
  AZURE_RESOURCE_MANAGER_ENDPOINT: environment().resourceManager
  AZURE_SUBSCRIPTION_IDS: useManagementGroup ? '' : join(fleetSubscriptionIds, ',')
  EVALUATION_SCHEDULE: effectiveEvaluationSchedule
  CONTROLPLANE_WATCH_SCHEDULE: effectiveControlPlaneWatchSchedule
  ARM_MAX_CONCURRENCY: string(armMaxConcurrency)
  EVIDENCE_RETENTION_DAYS: string(evidenceRetentionDays)
  AUTH_ISSUER: effectiveAuthIssuer
  AUTH_AUDIENCE: authAudience
  // Telemetry with Entra ID auth (local auth is disabled on the component).
  APPLICATIONINSIGHTS_CONNECTION_STRING: monitoring.outputs.connectionString
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identity.outputs.clientId};Authorization=AAD'
  WEBSITE_CLOUD_ROLENAME: effectiveCloudRoleName
}

// The optional settings given (see the parameters above); an empty one is left out.
var optionalSettingValues = {
  HISTORY_RETENTION_DAYS: historyRetentionDays
  BREAK_GLASS_LOOKBACK_DAYS: breakGlassLookbackDays
  AUTH_JWKS_URI: authJwksUri
  ROLLOUT_GATE_RECHECK_SECONDS: rolloutGateRecheckSeconds
  ROLLOUT_VERIFY_TIMEOUT_SECONDS: rolloutVerifyTimeoutSeconds
  REMEDIATION_CHECK_DELAY_SECONDS: remediationCheckDelaySeconds
  REMEDIATION_CHECK_MAX_HOURS: remediationCheckMaxHours
  WEBHOOK_ALLOWLIST: webhookAllowlist
  MAX_REQUEST_BODY_BYTES: maxRequestBodyBytes
  WEBHOOK_DELIVERY_RETENTION_DAYS: webhookDeliveryRetentionDays
  SERVICENOW_CATEGORY: serviceNowCategory
  DASHBOARD_CLIENT_ID: dashboardClientId
}
var optionalSettings = toObject(filter(items(optionalSettingValues), setting => !empty(trim(setting.value))), setting => setting.key, setting => trim(setting.value))

// Webhooks and ServiceNow: names as config/settings.ts reads them, secrets from Key Vault.
var webhookSettings = enableWebhooks == 'true'
  ? {
      WEBHOOK_SECRET_KEY: secretReference.webhookSecretKey
    }
  : {}
var serviceNowChangeSettings = enableServiceNowChangeEvents == 'true'
  ? {
      SERVICENOW_CHANGE_WEBHOOK_SECRET: secretReference.serviceNowChangeWebhookSecret
    }
  : {}
var serviceNowBasicSettings = {
  SERVICENOW_AUTH: 'basic'
  SERVICENOW_INSTANCE_URL: serviceNowInstanceUrl
  SERVICENOW_USERNAME: serviceNowUsername
  SERVICENOW_PASSWORD: secretReference.serviceNowPassword
  SERVICENOW_ASSIGNMENT_GROUP: serviceNowAssignmentGroup
}
var serviceNowOAuthSettings = union(
  {
    SERVICENOW_AUTH: 'oauth'
    SERVICENOW_INSTANCE_URL: serviceNowInstanceUrl
    SERVICENOW_CLIENT_ID: serviceNowClientId
    SERVICENOW_CLIENT_SECRET: secretReference.serviceNowClientSecret
    SERVICENOW_ASSIGNMENT_GROUP: serviceNowAssignmentGroup
  },
  // The OAuth password grant when a user is given; client credentials otherwise.
  empty(serviceNowUsername)
    ? {}
    : {
        SERVICENOW_USERNAME: serviceNowUsername
        SERVICENOW_PASSWORD: secretReference.serviceNowPassword
      }
)
var serviceNowSettings = serviceNowAuth == 'basic' ? serviceNowBasicSettings : serviceNowAuth == 'oauth' ? serviceNowOAuthSettings : {}

module functionApp 'modules/function-app.bicep' = {
  name: 'function-app'
  scope: rg
  params: {
    name: functionAppName
    planName: '${abbreviations.plan}${resourceToken}'
    location: location
    tags: tags
    identityId: identity.outputs.id
    blobEndpoint: storage.outputs.blobEndpoint
    deploymentContainerName: deploymentContainerName
    appSettings: union(appSettings, optionalSettings, webhookSettings, serviceNowChangeSettings, serviceNowSettings)
    maximumInstanceCount: maximumInstanceCount
    enableAppServiceAuth: enableAppServiceAuth
    authIssuer: effectiveAuthIssuer
    authClientId: authAudience
    authAudience: authAudience
  }
}

// Subscription-list mode: one custom role definition assignable in every target subscription,
// then Reader + the custom role in each of them. Never Owner or Contributor.
module fleetRole 'modules/fleet-role-definition.bicep' = if (!useManagementGroup) {
  name: 'fleet-role-definition'
  params: {
    roleName: fleetRoleName
    assignableScopes: map(union(fleetSubscriptionIds, [subscription().subscriptionId]), id => '/subscriptions/${id}')
  }
}

module fleetAccess 'modules/fleet-access-subscription.bicep' = [for subscriptionId in fleetSubscriptionIds: if (!useManagementGroup) {
  name: 'fleet-access-${subscriptionId}'
  scope: subscription(subscriptionId)
  params: {
    principalId: identity.outputs.principalId
    customRoleDefinitionGuid: fleetRole!.outputs.roleDefinitionGuid
  }
}]

output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_FUNCTION_NAME string = functionApp.outputs.name
output SERVICE_API_NAME string = functionApp.outputs.name
@description('Base URL of the API (host.json routePrefix "api").')
output API_URL string = 'https://${functionApp.outputs.defaultHostName}/api'
output DASHBOARD_URL string = 'https://${functionApp.outputs.defaultHostName}/api/dashboard'
@description('Principal (object) id of the app identity: grant it at a management group with infra/scripts/grant-management-group.sh.')
output APP_IDENTITY_PRINCIPAL_ID string = identity.outputs.principalId
output APP_IDENTITY_CLIENT_ID string = identity.outputs.clientId
output APP_IDENTITY_RESOURCE_ID string = identity.outputs.id
@description('App roles to grant API callers (infra/scripts/grant-caller.sh).')
output CALLER_APP_ROLES array = map(appRoles.roles, role => role.value)
output AUTH_ISSUER string = effectiveAuthIssuer
output AUTH_AUDIENCE string = authAudience
output AZURE_MANAGEMENT_GROUP_ID string = managementGroupId
output FLEET_SUBSCRIPTION_IDS string = useManagementGroup ? '' : join(fleetSubscriptionIds, ',')
output FLEET_CUSTOM_ROLE_NAME string = useManagementGroup ? '' : fleetRoleName
output KEY_VAULT_NAME string = keyVault.outputs.name
output KEY_VAULT_URI string = keyVault.outputs.uri
output STORAGE_ACCOUNT_NAME string = storage.outputs.name
output APPLICATIONINSIGHTS_NAME string = monitoring.outputs.applicationInsightsName
output LOG_ANALYTICS_WORKSPACE_ID string = monitoring.outputs.logAnalyticsWorkspaceId
output LOG_ANALYTICS_CUSTOMER_ID string = monitoring.outputs.logAnalyticsCustomerId
