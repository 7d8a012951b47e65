targetScope = 'managementGroup'

// Management-group target mode. azd provisions at subscription scope, and a subscription-scoped
// deployment cannot deploy to a management group, so infra/scripts/grant-management-group.sh (the
// azd postprovision hook) deploys this file with `az deployment mg create` when
// AZURE_MANAGEMENT_GROUP_ID is set. The deploying principal needs roleDefinitions/write and
// roleAssignments/write at the management group (e.g. Role Based Access Control Administrator
// plus a role-definition writer, or User Access Administrator).
@description('Principal id of the app identity (output APP_IDENTITY_PRINCIPAL_ID of main.bicep).')
param principalId string
@description('azd environment name, to keep the custom role name unique per environment.')
param environmentName string

var fleetRole = loadJsonContent('fleet-role.json')
var roleName = 'arc-compliance policy operator (${environmentName}, ${managementGroup().name})'

resource definition 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  name: guid(tenant().tenantId, roleName)
  properties: {
    roleName: roleName
    description: fleetRole.description
    type: 'CustomRole'
    permissions: [
      {
        actions: fleetRole.actions
        notActions: []
        dataActions: []
        notDataActions: []
      }
    ]
    assignableScopes: [managementGroup().id]
  }
}

var reader = 'acdd72a7-3385-48ef-bd42-f606fba81ae7' // Reader

resource readerAssignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(managementGroup().id, principalId, reader)
  properties: {
    roleDefinitionId: tenantResourceId('Microsoft.Authorization/roleDefinitions', reader)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

resource customAssignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(managementGroup().id, principalId, definition.id)
  properties: {
    roleDefinitionId: definition.id
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

output customRoleName string = roleName
output customRoleDefinitionId string = definition.id
