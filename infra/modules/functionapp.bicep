// The Function App on the Flex Consumption plan (Python 3.11), running as the user-assigned identity.
// Every connection is identity-based: `<connection>__fullyQualifiedNamespace` / `__blobServiceUri` plus
// `__credential: managedidentity` and `__clientId`; the service's own settings are the upper-case names of
// the fields of shared/settings.py `Settings` (tests/unit/infra checks both sides agree).

@description('Name of the Function App.')
param name string

@description('Name of the Flex Consumption plan.')
param planName string

@description('Region of the app.')
param location string

@description('Tags of every resource.')
param tags object

@description('Resource id of the user-assigned identity the app runs as.')
param identityId string

@description('Client id of that identity.')
param identityClientId string

@description('Storage account of the host, the Durable task hub and the service\'s containers.')
param storageAccountName string

@description('Container that holds the deployment package.')
param deploymentContainerName string

@description('Container whose uploads start runs.')
param trainingContainerName string

@description('Container of run reports.')
param reportsContainerName string

@description('Container of alias records.')
param stateContainerName string

@description('Service Bus namespace name.')
param serviceBusNamespaceName string

@description('Topic of the run events.')
param eventsTopicName string

@description('Queue of commands.')
param commandsQueueName string

@description('Application Insights component name.')
param applicationInsightsName string

@description('AI Foundry project the service submits fine-tuning jobs to.')
param aiProjectName string

@description('Region of the AI Foundry project.')
param foundryLocation string

@description('Durable Task hub name; host.json reads it as %DURABLE_TASK_HUB%.')
param durableTaskHub string = 'phifinetune'

@description('Most instances the plan may scale out to.')
param maximumInstanceCount int

@description('Memory of each instance in MB.')
param instanceMemoryMB int

resource storageAccount 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    reserved: true
  }
}

resource functionApp 'Microsoft.Web/sites@2024-04-01' = {
  name: name
  location: location
  tags: union(tags, {
    'azd-service-name': 'api'
  })
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
    clientCertEnabled: false
    siteConfig: {
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
      appSettings: [
        // The Functions host and the Durable Task hub (blobs, queues, tables).
        {
          name: 'AzureWebJobsStorage__blobServiceUri'
          value: storageAccount.properties.primaryEndpoints.blob
        }
        {
          name: 'AzureWebJobsStorage__queueServiceUri'
          value: storageAccount.properties.primaryEndpoints.queue
        }
        {
          name: 'AzureWebJobsStorage__tableServiceUri'
          value: storageAccount.properties.primaryEndpoints.table
        }
        {
          name: 'AzureWebJobsStorage__credential'
          value: 'managedidentity'
        }
        {
          name: 'AzureWebJobsStorage__clientId'
          value: identityClientId
        }
        // The Service Bus trigger of the commands queue (connection="ServiceBusConnection").
        {
          name: 'ServiceBusConnection__fullyQualifiedNamespace'
          value: '${serviceBusNamespaceName}.servicebus.windows.net'
        }
        {
          name: 'ServiceBusConnection__credential'
          value: 'managedidentity'
        }
        {
          name: 'ServiceBusConnection__clientId'
          value: identityClientId
        }
        // Telemetry: ingestion accepts Entra tokens only (local auth is off on the component).
        {
          name: 'APPLICATIONINSIGHTS_CONNECTION_STRING'
          value: applicationInsights.properties.ConnectionString
        }
        {
          name: 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING'
          value: 'ClientId=${identityClientId};Authorization=AAD'
        }
        // The service's own settings (shared/settings.py).
        {
          name: 'DURABLE_TASK_HUB'
          value: durableTaskHub
        }
        {
          name: 'AZURE_CLIENT_ID'
          value: identityClientId
        }
        {
          name: 'STORAGE_ACCOUNT_URL'
          value: storageAccount.properties.primaryEndpoints.blob
        }
        {
          name: 'TRAINING_CONTAINER'
          value: trainingContainerName
        }
        {
          name: 'REPORTS_CONTAINER'
          value: reportsContainerName
        }
        {
          name: 'STATE_CONTAINER'
          value: stateContainerName
        }
        {
          name: 'SERVICEBUS_FULLY_QUALIFIED_NAMESPACE'
          value: '${serviceBusNamespaceName}.servicebus.windows.net'
        }
        {
          name: 'EVENTS_TOPIC'
          value: eventsTopicName
        }
        {
          name: 'COMMANDS_QUEUE'
          value: commandsQueueName
        }
        {
          name: 'FOUNDRY_BACKEND'
          value: 'azure'
        }
        {
          name: 'AZURE_SUBSCRIPTION_ID'
          value: subscription().subscriptionId
        }
        {
          name: 'AZURE_RESOURCE_GROUP'
          value: resourceGroup().name
        }
        {
          name: 'AZURE_AI_PROJECT_NAME'
          value: aiProjectName
        }
        {
          name: 'AZURE_LOCATION'
          value: foundryLocation
        }
      ]
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storageAccount.properties.primaryEndpoints.blob}${deploymentContainerName}'
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
      runtime: {
        name: 'python'
        version: '3.11'
      }
    }
  }
}

resource ftpPublishing 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: functionApp
  name: 'ftp'
  properties: {
    allow: false
  }
}

resource scmPublishing 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: functionApp
  name: 'scm'
  properties: {
    allow: false
  }
}

output id string = functionApp.id
output name string = functionApp.name
output url string = 'https://${functionApp.properties.defaultHostName}'
