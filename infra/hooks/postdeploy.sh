#!/bin/sh
# azd postdeploy hook: subscribe the Function App to BlobCreated events of the training container.
# The Event Grid webhook of a blob trigger (source=EventGrid) needs the app's `blobs_extension` system key,
# which the Functions host creates on its first start with the deployed code. So this runs after
# `azd deploy`: it starts the host, waits for the key, then deploys
# infra/modules/blob-created-subscription.bicep with the key passed in a private parameters file (never on a
# command line, never printed). Needs the Azure CLI signed in (`az login`) as the user who ran `azd up`.
set -eu
cd "$(dirname "$0")/../.."

for name in AZURE_RESOURCE_GROUP AZURE_FUNCTION_APP_NAME FUNCTION_APP_URL BLOB_TRIGGER_FUNCTION_NAME \
  EVENTGRID_SYSTEM_TOPIC_NAME STORAGE_ACCOUNT_NAME; do
  eval "value=\${$name:-}"
  if [ -z "$value" ]; then
    echo "postdeploy: $name is not set; run through 'azd up' or 'azd deploy' (azd sets it from the infra outputs)" >&2
    exit 1
  fi
done

if ! command -v az >/dev/null 2>&1; then
  echo "postdeploy: the Azure CLI (az) is needed to subscribe the app to BlobCreated events; install it, run 'az login'," \
    "then 'azd hooks run postdeploy'" >&2
  exit 1
fi
if ! az account show --output none 2>/dev/null; then
  echo "postdeploy: the Azure CLI is not signed in; run 'az login', then 'azd hooks run postdeploy'" >&2
  exit 1
fi

attempts="${BLOBS_KEY_ATTEMPTS:-30}"
wait_seconds="${BLOBS_KEY_WAIT_SECONDS:-10}"
key=""
i=0
while [ -z "$key" ]; do
  i=$((i + 1))
  if [ "$i" -gt "$attempts" ]; then
    echo "postdeploy: the app $AZURE_FUNCTION_APP_NAME has no blobs_extension key after $attempts tries;" \
      "check that function $BLOB_TRIGGER_FUNCTION_NAME has a blob trigger with source=EventGrid and that the" \
      "host started (Application Insights, or 'az functionapp log deployment show'), then run 'azd hooks run postdeploy'" >&2
    exit 1
  fi
  # Any request starts the host; the key appears once it has loaded the EventGrid blob trigger.
  curl --silent --output /dev/null --max-time 30 "$FUNCTION_APP_URL/api/health" || true
  key=$(az functionapp keys list --resource-group "$AZURE_RESOURCE_GROUP" --name "$AZURE_FUNCTION_APP_NAME" \
    --query "systemKeys.blobs_extension" --output tsv 2>/dev/null || true)
  if [ -z "$key" ]; then
    echo "postdeploy: waiting for the host of $AZURE_FUNCTION_APP_NAME to create its blobs_extension key ($i/$attempts)"
    sleep "$wait_seconds"
  fi
done

umask 077
params=$(mktemp)
trap 'rm -f "$params"' EXIT INT TERM
printf '{"$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentParameters.json#", "contentVersion": "1.0.0.0", "parameters": {"blobsExtensionKey": {"value": "%s"}}}\n' "$key" >"$params"

echo "postdeploy: subscribing $BLOB_TRIGGER_FUNCTION_NAME to BlobCreated (*.jsonl) on the training container"
az deployment group create \
  --resource-group "$AZURE_RESOURCE_GROUP" \
  --name blob-created-subscription \
  --template-file infra/modules/blob-created-subscription.bicep \
  --parameters "@$params" \
  --parameters systemTopicName="$EVENTGRID_SYSTEM_TOPIC_NAME" functionAppName="$AZURE_FUNCTION_APP_NAME" \
  blobTriggerFunctionName="$BLOB_TRIGGER_FUNCTION_NAME" storageAccountName="$STORAGE_ACCOUNT_NAME" \
  --output none
echo "postdeploy: done; upload a .jsonl file to the training-data container to start a run"
