#!/usr/bin/env bash
# Grants an API app role (infra/app-roles.json) to a caller: a user, a group, or a service
# principal / managed identity (the usual case for pipelines and ServiceNow). Idempotent.
#
# Usage: grant-caller.sh --role ROLE --principal ID [--api-app-id APP_ID]
#   --role        e.g. Compliance.Read, Compliance.Evaluate (see infra/app-roles.json)
#   --principal   user principal name, or object id / app id of a user, group or service principal
#   --api-app-id  client id of the API registration (default: AUTH_AUDIENCE, or azd's value)
set -euo pipefail

role=""; principal=""; api_app_id="${AUTH_AUDIENCE:-}"
while [ $# -gt 0 ]; do
  case "$1" in
    --role) role="$2"; shift 2 ;;
    --principal) principal="$2"; shift 2 ;;
    --api-app-id) api_app_id="$2"; shift 2 ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done
if [ -z "$api_app_id" ] && command -v azd >/dev/null 2>&1; then
  api_app_id="$(azd env get-value AUTH_AUDIENCE 2>/dev/null || true)"
fi
if [ -z "$role" ] || [ -z "$principal" ] || [ -z "$api_app_id" ]; then
  echo "usage: grant-caller.sh --role ROLE --principal ID [--api-app-id APP_ID]" >&2
  exit 2
fi

here="$(cd "$(dirname "$0")" && pwd)"
role_id="$(ROLES_FILE="$here/../app-roles.json" ROLE="$role" node --input-type=module -e '
  import { readFileSync } from "node:fs";
  const roles = JSON.parse(readFileSync(process.env.ROLES_FILE, "utf8")).roles;
  const match = roles.find((r) => r.value === process.env.ROLE);
  if (!match) {
    console.error(`unknown role ${process.env.ROLE}; known: ${roles.map((r) => r.value).join(", ")}`);
    process.exit(1);
  }
  process.stdout.write(match.id);
')"

api_sp_id="$(az ad sp show --id "$api_app_id" --query id --output tsv)"

# Resolve the caller to an object id: a UPN is a user; a GUID may be a service principal (object
# or app id), a user or a group.
principal_id=""
if [[ "$principal" == *@* ]]; then
  principal_id="$(az ad user show --id "$principal" --query id --output tsv)"
else
  principal_id="$(az ad sp show --id "$principal" --query id --output tsv 2>/dev/null || true)"
  [ -n "$principal_id" ] || principal_id="$(az ad user show --id "$principal" --query id --output tsv 2>/dev/null || true)"
  [ -n "$principal_id" ] || principal_id="$(az ad group show --group "$principal" --query id --output tsv 2>/dev/null || true)"
fi
if [ -z "$principal_id" ]; then
  echo "no user, group or service principal found for '$principal'" >&2
  exit 1
fi

graph="https://graph.microsoft.com/v1.0/servicePrincipals/$api_sp_id/appRoleAssignedTo"
existing="$(az rest --method GET --uri "$graph?\$top=999" \
  --query "value[?principalId=='$principal_id' && appRoleId=='$role_id'] | length(@)" --output tsv)"
if [ "$existing" != "0" ]; then
  echo "$principal already holds $role"
  exit 0
fi

az rest --method POST --uri "$graph" --headers "Content-Type=application/json" \
  --body "{\"principalId\":\"$principal_id\",\"resourceId\":\"$api_sp_id\",\"appRoleId\":\"$role_id\"}" \
  --output none
echo "Granted $role to $principal ($principal_id)"
