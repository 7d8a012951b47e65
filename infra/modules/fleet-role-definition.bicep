targetScope = 'subscription'

// The custom role (see infra/fleet-role.json) for the subscription-list target mode. One definition,
// assignable in every target subscription: custom role names are unique per tenant.
param roleName string
@description('Subscription resource ids (/subscriptions/{id}) where the role may be assigned.')
param assignableScopes array

var fleetRole = loadJsonContent('../fleet-role.json')

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
    assignableScopes: assignableScopes
  }
}

// The GUID only: each subscription module builds its own subscription-relative id from it.
output roleDefinitionGuid string = definition.name
