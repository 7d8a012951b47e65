#!/usr/bin/env bash
# Creates (or updates) the Entra ID app registration that protects the arc-compliance API:
# app roles from infra/app-roles.json (stable ids, allowed for users and applications), identifier
# URI api://<appId>, v2 access tokens, and a service principal that requires a role assignment.
# Bicep cannot create app registrations in every tenant, hence this Azure CLI script.
# Idempotent: rerun it after editing app-roles.json.
#
# The posture dashboard signs people in with this same registration (authorization code flow with
# PKCE, SPA platform): --dashboard-url adds its redirect URI <url>/api/dashboard, keeping the others.
#
# Usage: create-app-registration.sh [--display-name NAME] [--dashboard-url URL] [--azd]
#   --display-name   registration name (default: arc-compliance-api)
#   --dashboard-url  origin of the function app (https://<app>.azurewebsites.net); with --azd it
#                    defaults to the DASHBOARD_URL output of an earlier `azd provision`
#   --azd            also store AUTH_ISSUER, AUTH_AUDIENCE and DASHBOARD_CLIENT_ID in the current azd environment
# Needs: az (signed in; Application Administrator, Cloud Application Administrator, or the
# "Users can register applications" default), node (to read app-roles.json).
set -euo pipefail

display_name="arc-compliance-api"
use_azd=false
dashboard_url=""
while [ $# -gt 0 ]; do
  case "$1" in
    --display-name) display_name="$2"; shift 2 ;;
    --azd) use_azd=true; shift ;;
    --dashboard-url) dashboard_url="$2"; shift 2 ;;
    -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done

here="$(cd "$(dirname "$0")" && pwd)"
roles_file="$here/../app-roles.json"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

tenant_id="$(az account show --query tenantId --output tsv)"

app_id="$(az ad app list --display-name "$display_name" --query "[0].appId" --output tsv)"
if [ -z "$app_id" ]; then
  echo "Creating app registration '$display_name'"
  app_id="$(az ad app create --display-name "$display_name" --sign-in-audience AzureADMyOrg --query appId --output tsv)"
else
  echo "Updating app registration '$display_name' ($app_id)"
fi

# App roles: the declared ones exactly as in app-roles.json; a role that exists on the registration
# but is no longer declared is kept disabled (Entra ID refuses to delete an enabled role).
az ad app show --id "$app_id" --query "appRoles" --output json > "$work/existing.json"
ROLES_FILE="$roles_file" EXISTING_FILE="$work/existing.json" node --input-type=module -e '
  import { readFileSync } from "node:fs";
  const declared = JSON.parse(readFileSync(process.env.ROLES_FILE, "utf8")).roles;
  const existing = JSON.parse(readFileSync(process.env.EXISTING_FILE, "utf8") || "[]") ?? [];
  const ids = new Set(declared.map((r) => r.id));
  const roles = declared.map((r) => ({
    allowedMemberTypes: ["User", "Application"],
    description: r.description,
    displayName: r.displayName,
    id: r.id,
    isEnabled: true,
    value: r.value,
  }));
  for (const old of existing) {
    if (!ids.has(old.id)) {
      roles.push({ ...old, isEnabled: false });
      console.error(`keeping undeclared role ${old.value} (${old.id}) disabled`);
    }
  }
  process.stdout.write(JSON.stringify(roles, null, 2));
' > "$work/app-roles.json"
az ad app update --id "$app_id" --app-roles "@$work/app-roles.json"

# Identifier URI (callers request scope api://<appId>/.default) and v2 access tokens, whose issuer
# is https://login.microsoftonline.com/<tenant>/v2.0 and whose audience is the client id.
az ad app update --id "$app_id" --identifier-uris "api://$app_id"
az ad app update --id "$app_id" --set api.requestedAccessTokenVersion=2

# Service principal in this tenant; only principals holding an app role get tokens for the API.
if ! az ad sp show --id "$app_id" --query id --output tsv >/dev/null 2>&1; then
  az ad sp create --id "$app_id" --output none
fi
az ad sp update --id "$app_id" --set appRoleAssignmentRequired=true

# The dashboard's SPA redirect URI (https only, as Entra ID requires outside localhost), added to
# those already registered. Microsoft Graph, because `az ad app update` has no SPA option.
if [ -z "$dashboard_url" ] && [ "$use_azd" = true ]; then
  dashboard_url="$(azd env get-value DASHBOARD_URL 2>/dev/null || true)"
  dashboard_url="${dashboard_url%/api/dashboard}"
fi
if [ -n "$dashboard_url" ]; then
  case "$dashboard_url" in
    https://*) ;;
    *) echo "--dashboard-url must be an https origin, got: $dashboard_url" >&2; exit 2 ;;
  esac
  redirect_uri="${dashboard_url%/}/api/dashboard"
  az ad app show --id "$app_id" --query "spa.redirectUris" --output json > "$work/spa.json"
  REDIRECT="$redirect_uri" SPA_FILE="$work/spa.json" node --input-type=module -e '
    import { readFileSync } from "node:fs";
    const existing = JSON.parse(readFileSync(process.env.SPA_FILE, "utf8") || "[]") ?? [];
    const uris = existing.includes(process.env.REDIRECT) ? existing : [...existing, process.env.REDIRECT];
    process.stdout.write(JSON.stringify({ spa: { redirectUris: uris } }));
  ' > "$work/spa-body.json"
  az rest --method PATCH --uri "https://graph.microsoft.com/v1.0/applications(appId='$app_id')" \
    --headers "Content-Type=application/json" --body "$(cat "$work/spa-body.json")" --output none
  echo "Dashboard redirect URI (SPA): $redirect_uri"
fi

auth_issuer="https://login.microsoftonline.com/$tenant_id/v2.0"
auth_audience="$app_id"

echo
echo "AUTH_ISSUER=$auth_issuer"
echo "AUTH_AUDIENCE=$auth_audience"
echo "DASHBOARD_CLIENT_ID=$app_id"
echo "API scope for callers: api://$app_id/.default"
if [ "$use_azd" = true ]; then
  azd env set AUTH_ISSUER "$auth_issuer"
  azd env set AUTH_AUDIENCE "$auth_audience"
  azd env set DASHBOARD_CLIENT_ID "$app_id"
  echo "Stored AUTH_ISSUER, AUTH_AUDIENCE and DASHBOARD_CLIENT_ID in the azd environment."
fi
