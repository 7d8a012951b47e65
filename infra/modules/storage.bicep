// Storage for the Functions host (AzureWebJobsStorage), the app's tables and queues, and the
// Flex Consumption deployment package. Shared keys are disabled: everything uses Entra ID.
param name string
param location string
param tags object = {}
@description('Blob container holding the Flex Consumption deployment package.')
param deploymentContainerName string
@description('Queues the app uses (application/messages.ts QUEUES); the host creates the -poison queues itself.')
param queueNames array
@description('Principal id of the app identity.')
param principalId string
@minValue(1)
@maxValue(146000)
@description('Days every evidence blob stays immutable after it is written (EVIDENCE_RETENTION_DAYS).')
param evidenceRetentionDays int
@description('Container of the evidence bundles and manifests (EVIDENCE_CONTAINER in adapters/storage/blob-evidence-store.ts).')
param evidenceContainerName string = 'evidence'
@allowed(['Standard_LRS', 'Standard_ZRS', 'Standard_GRS', 'Standard_GZRS'])
param skuName string = 'Standard_LRS'

resource storageAccount 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: { name: skuName }
  properties: {
    accessTier: 'Hot'
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    allowBlobPublicAccess: false
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    allowCrossTenantReplication: false
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      defaultAction: 'Allow'
      bypass: 'AzureServices'
    }
  }

  resource blobService 'blobServices' = {
    name: 'default'
    resource deploymentContainer 'containers' = {
      name: deploymentContainerName
      properties: { publicAccess: 'None' }
    }
    // Write once, read many: within the retention period no blob can be changed or deleted, whatever
    // the caller's role. Created unlocked (Bicep cannot lock it); docs/operations.md says how to lock.
    resource evidenceContainer 'containers' = {
      name: evidenceContainerName
      properties: { publicAccess: 'None' }
      resource worm 'immutabilityPolicies' = {
        name: 'default'
        properties: {
          immutabilityPeriodSinceCreationInDays: evidenceRetentionDays
          allowProtectedAppendWrites: false
          allowProtectedAppendWritesAll: false
        }
      }
    }
  }

  resource queueService 'queueServices' = {
    name: 'default'
    resource queue 'queues' = [for queueName in queueNames: {
      name: queueName
    }]
  }

  resource tableService 'tableServices' = {
    name: 'default'
  }
}

// Built-in data-plane roles, scoped to this account only.
var storageBlobDataOwner = 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b' // Storage Blob Data Owner
var storageQueueDataContributor = '974c5e8b-45b9-4653-ba55-5f855dd0fb88' // Storage Queue Data Contributor
var storageTableDataContributor = '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3' // Storage Table Data Contributor

// Blob Data Owner (not Contributor): the Functions host manages blob leases and the deployment
// package container with the identity, as the Flex Consumption templates do. Its condition takes every
// blob-changing action the condition docs list away in the evidence container (reads stay), including
// legal holds and blob immutability policies and the hierarchical-namespace superuser: there the
// identity writes new blobs through the evidence writer role below and nothing else.
var evidenceChangingActions = [
  'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write'
  'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/add/action'
  'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/delete'
  'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/deleteBlobVersion/action'
  'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/permanentDelete/action'
  'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/move/action'
  'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/tags/write'
  'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/manageOwnership/action'
  'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/modifyPermissions/action'
  'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/immutableStorage/runAsSuperUser/action'
  'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/runAsSuperUser/action'
]
var notEvidenceChange = join(map(evidenceChangingActions, action => '!(ActionMatches{\'${action}\'})'), ' AND ')
var outsideEvidence = '@Resource[Microsoft.Storage/storageAccounts/blobServices/containers:name] StringNotEquals \'${evidenceContainerName}\''

resource blobOwner 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storageAccount.id, principalId, storageBlobDataOwner)
  scope: storageAccount
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageBlobDataOwner)
    principalId: principalId
    principalType: 'ServicePrincipal'
    condition: '((${notEvidenceChange}) OR (${outsideEvidence}))'
    conditionVersion: '2.0'
  }
}

// What writing new evidence needs: read (listing, verify), write and add (create-only uploads and the
// chain lock's lease). No delete; overwrites are refused by the immutability policy.
resource evidenceWriterRole 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  name: guid(resourceGroup().id, storageAccount.id, 'evidence-writer')
  properties: {
    roleName: 'arc-compliance evidence writer (${storageAccount.name})'
    description: 'Reads evidence blobs and creates new ones; cannot delete. Overwrites are refused by the container\'s immutability policy.'
    type: 'CustomRole'
    permissions: [
      {
        actions: []
        notActions: []
        dataActions: [
          'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read'
          'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write'
          'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/add/action'
        ]
        notDataActions: []
      }
    ]
    assignableScopes: [resourceGroup().id]
  }
}

resource evidenceWriter 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storageAccount::blobService::evidenceContainer.id, principalId, evidenceWriterRole.id)
  scope: storageAccount::blobService::evidenceContainer
  properties: {
    roleDefinitionId: evidenceWriterRole.id
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

resource queueContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storageAccount.id, principalId, storageQueueDataContributor)
  scope: storageAccount
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageQueueDataContributor)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

resource tableContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storageAccount.id, principalId, storageTableDataContributor)
  scope: storageAccount
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageTableDataContributor)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

output name string = storageAccount.name
output evidenceContainerName string = storageAccount::blobService::evidenceContainer.name
output id string = storageAccount.id
output blobEndpoint string = storageAccount.properties.primaryEndpoints.blob
output queueEndpoint string = storageAccount.properties.primaryEndpoints.queue
output tableEndpoint string = storageAccount.properties.primaryEndpoints.table
