#!/usr/bin/env sh
# azd preprovision hook: fail early, with the fix, when a required environment value is missing.
set -eu

if [ -z "${AUTH_AUDIENCE:-}" ]; then
  echo "AUTH_AUDIENCE is not set for this azd environment." >&2
  echo "Create the API app registration first (needs an Entra ID role that can create applications):" >&2
  echo "  ./infra/scripts/create-app-registration.sh --azd" >&2
  echo "or set it yourself: azd env set AUTH_AUDIENCE <client id of the API app registration>" >&2
  exit 1
fi

if [ -n "${AZURE_MANAGEMENT_GROUP_ID:-}" ] && [ -n "${AZURE_TARGET_SUBSCRIPTION_IDS:-}" ]; then
  echo "Set either AZURE_MANAGEMENT_GROUP_ID or AZURE_TARGET_SUBSCRIPTION_IDS, not both." >&2
  exit 1
fi

# The app refuses to start with SERVICENOW_AUTH but no instance: say so before anything is deployed.
if [ -n "${SERVICENOW_AUTH:-}" ] && [ -z "${SERVICENOW_INSTANCE_URL:-}" ]; then
  echo "SERVICENOW_AUTH is set but SERVICENOW_INSTANCE_URL is not." >&2
  echo "  azd env set SERVICENOW_INSTANCE_URL https://<instance>.service-now.com" >&2
  exit 1
fi
