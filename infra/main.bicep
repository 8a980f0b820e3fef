// The Azure home of the Phi-3 fine-tuning orchestrator, deployed by `azd up`.
// Identity-only access everywhere: no account keys, no SAS, no connection string with a secret.
// Only local modules: the offline tests (pycep, checkov) must see every resource.
targetScope = 'subscription'

@description('Name of the azd environment; every resource name derives from it.')
@minLength(1)
@maxLength(40)
param environmentName string

@description('Region of the Function App, its storage, Service Bus and monitoring.')
@minLength(1)
param location string

@description('Region of the AI Foundry hub and project. Phi-3 fine-tuning (models-as-a-service) is offered only in East US 2, so the hub and project live there whatever region the rest uses.')
@allowed([
  'eastus2'
])
param foundryLocation string = 'eastus2'

@description('Object id of the person or pipeline running azd; given data-plane roles to upload files, read events and send commands. Empty: none.')
param principalId string = ''

@description('Kind of principalId: User for a person, ServicePrincipal for a pipeline.')
@allowed([
  'User'
  'ServicePrincipal'
])
param principalType string = 'User'

@description('Name of the blob-triggered function that Event Grid calls for new training files.')
param blobTriggerFunctionName string = 'start_run_from_upload'

@description('How long Service Bus remembers message ids to drop re-sent events (ISO 8601). Covers activity retries and re-executions after a host restart.')
param duplicateDetectionWindow string = 'PT1H'

@description('Most instances the Flex Consumption plan may scale out to.')
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int = 40

@description('Memory of each Flex Consumption instance in MB.')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = {
  'azd-env-name': environmentName
  service: 'phi-finetune-orchestrator'
}

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: 'rg-${environmentName}'
  location: location
  tags: tags
}

module identity 'modules/identity.bicep' = {
  name: 'identity'
  scope: rg
  params: {
    name: 'id-${resourceToken}'
    location: location
    tags: tags
  }
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    logAnalyticsName: 'log-${resourceToken}'
    applicationInsightsName: 'appi-${resourceToken}'
    location: location
    tags: tags
    appPrincipalId: identity.outputs.principalId
  }
}

module storage 'modules/storage.bicep' = {
  name: 'storage'
  scope: rg
  params: {
    name: 'st${resourceToken}'
    systemTopicName: 'evgt-${resourceToken}'
    location: location
    tags: tags
    appPrincipalId: identity.outputs.principalId
    foundryProjectPrincipalId: foundry.outputs.projectPrincipalId
    userPrincipalId: principalId
    userPrincipalType: principalType
  }
}

module servicebus 'modules/servicebus.bicep' = {
  name: 'servicebus'
  scope: rg
  params: {
    name: 'sb-${resourceToken}'
    location: location
    tags: tags
    duplicateDetectionWindow: duplicateDetectionWindow
    appPrincipalId: identity.outputs.principalId
    userPrincipalId: principalId
    userPrincipalType: principalType
  }
}

module foundry 'modules/foundry.bicep' = {
  name: 'foundry'
  scope: rg
  params: {
    hubName: 'hub-${resourceToken}'
    projectName: 'proj-${resourceToken}'
    storage: 'sthub${resourceToken}'
    keyVaultName: 'kv-${resourceToken}'
    location: foundryLocation
    tags: tags
    appPrincipalId: identity.outputs.principalId
  }
}

module functionApp 'modules/functionapp.bicep' = {
  name: 'functionapp'
  scope: rg
  params: {
    name: 'func-${resourceToken}'
    planName: 'plan-${resourceToken}'
    location: location
    tags: tags
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    storageAccountName: storage.outputs.name
    deploymentContainerName: storage.outputs.deploymentContainerName
    trainingContainerName: storage.outputs.trainingContainerName
    reportsContainerName: storage.outputs.reportsContainerName
    stateContainerName: storage.outputs.stateContainerName
    serviceBusNamespaceName: servicebus.outputs.name
    eventsTopicName: servicebus.outputs.eventsTopicName
    commandsQueueName: servicebus.outputs.commandsQueueName
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    aiProjectName: foundry.outputs.projectName
    foundryLocation: foundryLocation
    maximumInstanceCount: maximumInstanceCount
    instanceMemoryMB: instanceMemoryMB
  }
}

module workbook 'modules/workbook.bicep' = {
  name: 'workbook'
  scope: rg
  params: {
    location: location
    tags: tags
    applicationInsightsId: monitoring.outputs.applicationInsightsId
  }
}

output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_FUNCTION_APP_NAME string = functionApp.outputs.name
output FUNCTION_APP_URL string = functionApp.outputs.url
output BLOB_TRIGGER_FUNCTION_NAME string = blobTriggerFunctionName
output STORAGE_ACCOUNT_NAME string = storage.outputs.name
output STORAGE_ACCOUNT_URL string = storage.outputs.blobEndpoint
output EVENTGRID_SYSTEM_TOPIC_NAME string = storage.outputs.systemTopicName
output SERVICEBUS_NAMESPACE string = servicebus.outputs.name
output SERVICEBUS_FULLY_QUALIFIED_NAMESPACE string = servicebus.outputs.fullyQualifiedNamespace
output AZURE_AI_HUB_NAME string = foundry.outputs.hubName
output AZURE_AI_PROJECT_NAME string = foundry.outputs.projectName
output AZURE_AI_LOCATION string = foundryLocation
output APPLICATIONINSIGHTS_NAME string = monitoring.outputs.applicationInsightsName
output OPS_WORKBOOK_ID string = workbook.outputs.id
