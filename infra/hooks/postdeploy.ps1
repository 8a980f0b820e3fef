# azd postdeploy hook (Windows): the same steps as postdeploy.sh, which explains them.
$ErrorActionPreference = 'Stop'
Set-Location (Join-Path $PSScriptRoot '../..')

foreach ($name in 'AZURE_RESOURCE_GROUP', 'AZURE_FUNCTION_APP_NAME', 'FUNCTION_APP_URL', 'BLOB_TRIGGER_FUNCTION_NAME',
    'EVENTGRID_SYSTEM_TOPIC_NAME', 'STORAGE_ACCOUNT_NAME') {
    if (-not [Environment]::GetEnvironmentVariable($name)) {
        Write-Error "postdeploy: $name is not set; run through 'azd up' or 'azd deploy' (azd sets it from the infra outputs)"
    }
}

if (-not (Get-Command az -ErrorAction SilentlyContinue)) {
    Write-Error "postdeploy: the Azure CLI (az) is needed to subscribe the app to BlobCreated events; install it, run 'az login', then 'azd hooks run postdeploy'"
}
az account show --output none 2>$null
if ($LASTEXITCODE -ne 0) {
    Write-Error "postdeploy: the Azure CLI is not signed in; run 'az login', then 'azd hooks run postdeploy'"
}

$attempts = if ($env:BLOBS_KEY_ATTEMPTS) { [int]$env:BLOBS_KEY_ATTEMPTS } else { 30 }
$waitSeconds = if ($env:BLOBS_KEY_WAIT_SECONDS) { [int]$env:BLOBS_KEY_WAIT_SECONDS } else { 10 }
$key = ''
for ($i = 1; -not $key; $i++) {
    if ($i -gt $attempts) {
        Write-Error ("postdeploy: the app $env:AZURE_FUNCTION_APP_NAME has no blobs_extension key after $attempts tries; " +
            "check that function $env:BLOB_TRIGGER_FUNCTION_NAME has a blob trigger with source=EventGrid and that the " +
            "host started, then run 'azd hooks run postdeploy'")
    }
    try { Invoke-WebRequest -Uri "$env:FUNCTION_APP_URL/api/health" -TimeoutSec 30 -UseBasicParsing | Out-Null } catch { }
    $key = az functionapp keys list --resource-group $env:AZURE_RESOURCE_GROUP --name $env:AZURE_FUNCTION_APP_NAME `
        --query 'systemKeys.blobs_extension' --output tsv 2>$null
    if (-not $key) {
        Write-Host "postdeploy: waiting for the host of $env:AZURE_FUNCTION_APP_NAME to create its blobs_extension key ($i/$attempts)"
        Start-Sleep -Seconds $waitSeconds
    }
}

$params = New-TemporaryFile
try {
    @{
        '$schema'      = 'https://schema.management.azure.com/schemas/2019-04-01/deploymentParameters.json#'
        contentVersion = '1.0.0.0'
        parameters     = @{ blobsExtensionKey = @{ value = $key } }
    } | ConvertTo-Json -Depth 5 | Set-Content -Path $params -Encoding utf8

    Write-Host "postdeploy: subscribing $env:BLOB_TRIGGER_FUNCTION_NAME to BlobCreated (*.jsonl) on the training container"
    az deployment group create `
        --resource-group $env:AZURE_RESOURCE_GROUP `
        --name blob-created-subscription `
        --template-file infra/modules/blob-created-subscription.bicep `
        --parameters "@$params" `
        --parameters systemTopicName=$env:EVENTGRID_SYSTEM_TOPIC_NAME functionAppName=$env:AZURE_FUNCTION_APP_NAME `
        blobTriggerFunctionName=$env:BLOB_TRIGGER_FUNCTION_NAME storageAccountName=$env:STORAGE_ACCOUNT_NAME `
        --output none
    if ($LASTEXITCODE -ne 0) { Write-Error 'postdeploy: az deployment group create failed' }
} finally {
    Remove-Item -Path $params -Force
}
Write-Host 'postdeploy: done; upload a .jsonl file to the training-data container to start a run'
