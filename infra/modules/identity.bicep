// The user-assigned managed identity the Function App runs as: every data-plane role is granted to it.

@description('Name of the identity.')
param name string

@description('Region of the identity.')
param location string

@description('Tags of every resource.')
param tags object

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: name
  location: location
  tags: tags
}

output id string = identity.id
output name string = identity.name
output principalId string = identity.properties.principalId
output clientId string = identity.properties.clientId
