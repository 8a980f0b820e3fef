// Service Bus: the run's CloudEvents go out on a topic with duplicate detection (each event's message id
// is derived from run id + event type + attempt, so a retried activity's re-send is dropped); commands come
// in on a queue that dead-letters what cannot be processed. Local (SAS) authentication is off.

@description('Name of the namespace.')
param name string

@description('Region of the namespace.')
param location string

@description('Tags of every resource.')
param tags object

@description('How long the topic remembers message ids (ISO 8601 duration).')
param duplicateDetectionWindow string

@description('Principal id of the app identity: sends events, receives commands.')
param appPrincipalId string

@description('Object id of the person or pipeline running azd (reads events, sends commands). Empty: none.')
param userPrincipalId string = ''

@description('Kind of userPrincipalId.')
param userPrincipalType string = 'User'

@description('How long an event waits in a subscription for its reader (ISO 8601 duration).')
param subscriptionMessageTimeToLive string = 'P7D'

var eventsTopicName = 'finetune-events'
var commandsQueueName = 'finetune-commands'
var allEventsSubscriptionName = 'all-events'
var failuresSubscriptionName = 'failures'

var serviceBusDataSender = '69a216fc-b8fb-44d8-bc22-1f3c2cd27a39'
var serviceBusDataReceiver = '4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0'

resource namespace 'Microsoft.ServiceBus/namespaces@2024-01-01' = {
  name: name
  location: location
  tags: tags
  sku: {
    name: 'Standard'
    tier: 'Standard'
  }
  properties: {
    disableLocalAuth: true
    minimumTlsVersion: '1.2'
    publicNetworkAccess: 'Enabled'
  }
}

resource eventsTopic 'Microsoft.ServiceBus/namespaces/topics@2024-01-01' = {
  parent: namespace
  name: eventsTopicName
  properties: {
    requiresDuplicateDetection: true
    duplicateDetectionHistoryTimeWindow: duplicateDetectionWindow
    defaultMessageTimeToLive: 'P14D'
    supportOrdering: true
    enablePartitioning: false
  }
}

resource allEventsSubscription 'Microsoft.ServiceBus/namespaces/topics/subscriptions@2024-01-01' = {
  parent: eventsTopic
  name: allEventsSubscriptionName
  properties: {
    // Unread events expire after a week and are dropped, not dead-lettered: a subscription nobody reads
    // must never fill the topic, or publishing (and so every run) would fail.
    defaultMessageTimeToLive: subscriptionMessageTimeToLive
    deadLetteringOnMessageExpiration: false
    deadLetteringOnFilterEvaluationExceptions: true
    maxDeliveryCount: 10
    lockDuration: 'PT1M'
  }
}

resource failuresSubscription 'Microsoft.ServiceBus/namespaces/topics/subscriptions@2024-01-01' = {
  parent: eventsTopic
  name: failuresSubscriptionName
  properties: {
    // Unread events expire after a week and are dropped, not dead-lettered: a subscription nobody reads
    // must never fill the topic, or publishing (and so every run) would fail.
    defaultMessageTimeToLive: subscriptionMessageTimeToLive
    deadLetteringOnMessageExpiration: false
    deadLetteringOnFilterEvaluationExceptions: true
    maxDeliveryCount: 10
    lockDuration: 'PT1M'
  }
}

// Named $Default so that it replaces the match-everything rule a new subscription starts with.
resource failuresRule 'Microsoft.ServiceBus/namespaces/topics/subscriptions/rules@2024-01-01' = {
  parent: failuresSubscription
  name: '$Default'
  properties: {
    filterType: 'CorrelationFilter'
    correlationFilter: {
      properties: {
        outcome: 'failed'
      }
    }
  }
}

resource commandsQueue 'Microsoft.ServiceBus/namespaces/queues@2024-01-01' = {
  parent: namespace
  name: commandsQueueName
  properties: {
    deadLetteringOnMessageExpiration: true
    maxDeliveryCount: 5
    lockDuration: 'PT1M'
    defaultMessageTimeToLive: 'P7D'
    requiresDuplicateDetection: false
    requiresSession: false
  }
}

resource appTopicSender 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(eventsTopic.id, appPrincipalId, serviceBusDataSender)
  scope: eventsTopic
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', serviceBusDataSender)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource appQueueReceiver 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(commandsQueue.id, appPrincipalId, serviceBusDataReceiver)
  scope: commandsQueue
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', serviceBusDataReceiver)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource userTopicReceiver 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(userPrincipalId)) {
  name: guid(eventsTopic.id, userPrincipalId, serviceBusDataReceiver)
  scope: eventsTopic
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', serviceBusDataReceiver)
    principalId: userPrincipalId
    principalType: userPrincipalType
  }
}

resource userQueueSender 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(userPrincipalId)) {
  name: guid(commandsQueue.id, userPrincipalId, serviceBusDataSender)
  scope: commandsQueue
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', serviceBusDataSender)
    principalId: userPrincipalId
    principalType: userPrincipalType
  }
}

output id string = namespace.id
output name string = namespace.name
output fullyQualifiedNamespace string = '${namespace.name}.servicebus.windows.net'
output eventsTopicName string = eventsTopic.name
output commandsQueueName string = commandsQueue.name
