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
