// The Azure AI Foundry hub and project where Phi-3 is fine-tuned and deployed as serverless endpoints.
// Phi-3 fine-tuning is offered only in East US 2, so this module may sit in another region than the app;
// the hub's own storage and key vault are therefore separate, in the hub's region, identity-only too.

@description('Name of the AI Foundry hub.')
param hubName string

@description('Name of the AI Foundry project (the workspace the service submits jobs to).')
param projectName string

@description('Name of the hub storage account (the hub\'s own datastores and job outputs).')
@minLength(3)
@maxLength(24)
param storage string

@description('Name of the hub key vault.')
@minLength(3)
@maxLength(24)
param keyVaultName string

@description('Region of the hub and project: one where Phi-3 fine-tuning is offered.')
param location string

@description('Tags of every resource.')
param tags object

@description('Principal id of the app identity: submits jobs, deploys and scores endpoints.')
param appPrincipalId string

var azureAIDeveloper = '64702f94-c441-49e6-a78b-ef80e0188fee'

resource hubStorage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: storage
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: 'Standard_LRS'
  }
  properties: {
    accessTier: 'Hot'
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    allowBlobPublicAccess: false
    allowCrossTenantReplication: false
    supportsHttpsTrafficOnly: true
    minimumTlsVersion: 'TLS1_2'
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: 'Allow'
    }
    encryption: {
      keySource: 'Microsoft.Storage'
      requireInfrastructureEncryption: true
      services: {
        blob: {
          enabled: true
        }
        file: {
          enabled: true
        }
      }
    }
  }
}

resource keyVault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: keyVaultName
  location: location
  tags: tags
  properties: {
    tenantId: tenant().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 7
    publicNetworkAccess: 'Enabled'
    // Only trusted Azure services (the hub) reach the vault; nothing of this service reads it.
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: 'Deny'
    }
  }
}

resource hub 'Microsoft.MachineLearningServices/workspaces@2024-10-01' = {
  name: hubName
  location: location
  tags: tags
  kind: 'Hub'
  sku: {
    name: 'Basic'
    tier: 'Basic'
  }
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    friendlyName: 'Phi-3 fine-tuning hub'
    storageAccount: hubStorage.id
    keyVault: keyVault.id
    systemDatastoresAuthMode: 'identity'
    publicNetworkAccess: 'Enabled'
  }
}

resource project 'Microsoft.MachineLearningServices/workspaces@2024-10-01' = {
  name: projectName
  location: location
  tags: tags
  kind: 'Project'
  sku: {
    name: 'Basic'
    tier: 'Basic'
  }
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    friendlyName: 'Phi-3 fine-tuning'
    hubResourceId: hub.id
    systemDatastoresAuthMode: 'identity'
    publicNetworkAccess: 'Enabled'
  }
}

resource appAIDeveloper 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(project.id, appPrincipalId, azureAIDeveloper)
  scope: project
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', azureAIDeveloper)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

output hubName string = hub.name
output projectName string = project.name
output projectId string = project.id
output projectPrincipalId string = project.identity.principalId
