#!/usr/bin/env bash
# Grants the app identity Reader + the custom policy role (infra/fleet-role.json) at a management
# group, by deploying infra/management-group-access.bicep. Runs as the azd postprovision hook
# (a no-op unless AZURE_MANAGEMENT_GROUP_ID is set) or by hand:
#
#   AZURE_MANAGEMENT_GROUP_ID=mg-platform ./infra/scripts/grant-management-group.sh
#
# Reads from the environment (azd exports its environment to hooks; otherwise it asks azd):
#   AZURE_MANAGEMENT_GROUP_ID, APP_IDENTITY_PRINCIPAL_ID, AZURE_ENV_NAME, AZURE_LOCATION.
# The caller needs Microsoft.Authorization/roleDefinitions/write and roleAssignments/write at the
# management group. Idempotent: names are deterministic GUIDs, a rerun changes nothing.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
template="$here/../management-group-access.bicep"

from_azd() { # value of an azd environment variable, or empty
  if command -v azd >/dev/null 2>&1; then azd env get-value "$1" 2>/dev/null || true; fi
}

mg="${AZURE_MANAGEMENT_GROUP_ID:-$(from_azd AZURE_MANAGEMENT_GROUP_ID)}"
if [ -z "$mg" ]; then
  echo "AZURE_MANAGEMENT_GROUP_ID is not set: subscription-list mode, nothing to grant at a management group."
  exit 0
fi

principal="${APP_IDENTITY_PRINCIPAL_ID:-$(from_azd APP_IDENTITY_PRINCIPAL_ID)}"
env_name="${AZURE_ENV_NAME:-$(from_azd AZURE_ENV_NAME)}"
location="${AZURE_LOCATION:-$(from_azd AZURE_LOCATION)}"
for pair in "APP_IDENTITY_PRINCIPAL_ID=$principal" "AZURE_ENV_NAME=$env_name" "AZURE_LOCATION=$location"; do
  if [ -z "${pair#*=}" ]; then
    echo "${pair%%=*} is not set (run 'azd provision' first, or export it)." >&2
    exit 1
  fi
done

echo "Granting identity $principal Reader + arc-compliance policy operator at management group $mg"
az deployment mg create \
  --name "arc-compliance-access-$env_name" \
  --management-group-id "$mg" \
  --location "$location" \
  --template-file "$template" \
  --parameters principalId="$principal" environmentName="$env_name" \
  --query "properties.outputs" --output json
