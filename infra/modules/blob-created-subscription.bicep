// The Event Grid subscription that starts a run for every new training file: BlobCreated on the
// training container, `.jsonl` only, and only the APIs that commit a whole blob (a multi-part upload emits
// one event per committed blob with PutBlockList/FlushWithClose, never one per block).
// Not part of main.bicep: the webhook needs the Function App's `blobs_extension` system key, which the host
// creates on its first start after the code is deployed; infra/hooks/postdeploy.* deploys this file then.

@description('Event Grid system topic of the storage account (output EVENTGRID_SYSTEM_TOPIC_NAME).')
param systemTopicName string

@description('Function App name (output AZURE_FUNCTION_APP_NAME).')
param functionAppName string

@description('Name of the blob-triggered function (source=EventGrid) that starts runs.')
param blobTriggerFunctionName string

@description('The Function App\'s blobs_extension system key, read by the postdeploy hook.')
@secure()
param blobsExtensionKey string

@description('Storage account that receives undeliverable events.')
param storageAccountName string

@description('Container whose uploads start runs.')
param trainingContainerName string = 'training-data'

@description('Container that receives undeliverable events.')
param deadLetterContainerName string = 'eventgrid-deadletter'

resource systemTopic 'Microsoft.EventGrid/systemTopics@2022-06-15' existing = {
  name: systemTopicName
}

resource functionApp 'Microsoft.Web/sites@2024-04-01' existing = {
  name: functionAppName
}

resource storageAccount 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource blobCreated 'Microsoft.EventGrid/systemTopics/eventSubscriptions@2022-06-15' = {
  parent: systemTopic
  name: 'training-data-blob-created'
  properties: {
    eventDeliverySchema: 'EventGridSchema'
    filter: {
      includedEventTypes: [
        'Microsoft.Storage.BlobCreated'
      ]
      subjectBeginsWith: '/blobServices/default/containers/${trainingContainerName}/blobs/'
      subjectEndsWith: '.jsonl'
      isSubjectCaseSensitive: false
      advancedFilters: [
        {
          operatorType: 'StringIn'
          key: 'data.api'
          values: [
            'PutBlob'
            'PutBlockList'
            'FlushWithClose'
            'CopyBlob'
          ]
        }
      ]
    }
    destination: {
      endpointType: 'WebHook'
      properties: {
        endpointUrl: 'https://${functionApp.properties.defaultHostName}/runtime/webhooks/blobs?functionName=Host.Functions.${blobTriggerFunctionName}&code=${blobsExtensionKey}'
        maxEventsPerBatch: 1
        preferredBatchSizeInKilobytes: 64
      }
    }
    retryPolicy: {
      maxDeliveryAttempts: 30
      eventTimeToLiveInMinutes: 1440
    }
    deadLetterWithResourceIdentity: {
      identity: {
        type: 'SystemAssigned'
      }
      deadLetterDestination: {
        endpointType: 'StorageBlob'
        properties: {
          resourceId: storageAccount.id
          blobContainerName: deadLetterContainerName
        }
      }
    }
  }
}

output name string = blobCreated.name
