// The ops workbook: runs by state, stage durations, failures by reason, training time, events published,
// read from the metrics and spans the service emits (shared/telemetry.py) into Application Insights.

@description('Region of the workbook.')
param location string

@description('Tags of every resource.')
param tags object

@description('Application Insights component the workbook queries.')
param applicationInsightsId string

@description('Title shown in the portal.')
param displayName string = 'Phi-3 fine-tuning operations'

resource workbook 'Microsoft.Insights/workbooks@2023-06-01' = {
  name: guid(resourceGroup().id, applicationInsightsId, 'finetune-ops-workbook')
  location: location
  tags: tags
  kind: 'shared'
  properties: {
    displayName: displayName
    category: 'workbook'
    sourceId: applicationInsightsId
    version: 'Notebook/1.0'
    serializedData: loadTextContent('../workbooks/finetune-ops.workbook.json')
  }
}

output id string = workbook.id
