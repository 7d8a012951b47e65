import { describe, expect, it } from 'vitest';
import { SETTINGS } from '../../config/settings.js';
import { QUEUES } from '../../application/messages.js';
import { infraFiles, readJson, readText, stripBicepComments } from './infra-files.js';

const bicep = infraFiles('.bicep').map((f) => ({ ...f, code: stripBicepComments(f.text) }));
const main = stripBicepComments(readText('infra/main.bicep'));
const functionApp = stripBicepComments(readText('infra/modules/function-app.bicep'));

/** Names assigned as object keys (`Name: value`) anywhere in infra Bicep code. */
const assignedKeys = new Set(
  bicep.flatMap((f) => [...f.code.matchAll(/^\s*'?([A-Za-z_][A-Za-z0-9_]*)'?\s*:/gm)].map((m) => m[1]!)),
);

/** The `var appSettings = { ... }` object of main.bicep, as `name -> value expression`. */
function appSettings(): Map<string, string> {
  const start = main.indexOf('var appSettings = {');
  expect(start, 'main.bicep declares var appSettings').toBeGreaterThanOrEqual(0);
  const end = main.indexOf('\n}\n', start);
  const body = main.slice(start, end);
  return new Map([...body.matchAll(/^\s{2}([A-Za-z_][A-Za-z0-9_]*)\s*:\s*(.+)$/gm)].map((m) => [m[1]!, m[2]!.trim()]));
}

describe('app settings set by main.bicep', () => {
  const settings = appSettings();

  it('sets every requiredInAzure setting of config/settings.ts', () => {
    const required = SETTINGS.filter((s) => s.requiredInAzure).map((s) => s.name);
    expect(required.length).toBeGreaterThan(0);
    const missing = required.filter((name) => !settings.has(name));
    expect(missing, 'requiredInAzure settings missing from main.bicep appSettings').toEqual([]);
    // and the object really reaches the site's appsettings config
    expect(main).toMatch(/appSettings:\s*appSettings/);
    expect(functionApp).toMatch(/name:\s*'appsettings'\s*\n\s*properties:\s*appSettings/);
  });

  it('only sets settings the app declares, plus platform and integration settings', () => {
    const declared = new Set(SETTINGS.map((s) => s.name));
    const platform = new Set([
      'APPLICATIONINSIGHTS_CONNECTION_STRING',
      'APPLICATIONINSIGHTS_AUTHENTICATION_STRING',
      'WEBSITE_CLOUD_ROLENAME',
    ]);
    const integration = (name: string) => name.startsWith('SERVICENOW_') || name.startsWith('WEBHOOK_');
    const unknown = [...settings.keys()].filter((n) => !declared.has(n) && !platform.has(n) && !integration(n));
    expect(unknown, 'app settings neither in SETTINGS nor known platform settings (typo?)').toEqual([]);
  });

  it('uses identity-based storage with the user-assigned identity', () => {
    expect(settings.get('AzureWebJobsStorage__credential')).toBe("'managedidentity'");
    expect(settings.get('AzureWebJobsStorage__clientId')).toBe('identity.outputs.clientId');
    expect(settings.get('AZURE_CLIENT_ID')).toBe('identity.outputs.clientId');
    expect(settings.get('AzureWebJobsStorage__accountName')).toBe('storage.outputs.name');
    expect(settings.has('AzureWebJobsStorage'), 'no AzureWebJobsStorage connection string in Azure').toBe(false);
  });

  it('sends telemetry to Application Insights with Entra ID auth and a cloud role name', () => {
    expect(settings.get('APPLICATIONINSIGHTS_CONNECTION_STRING')).toBe('monitoring.outputs.connectionString');
    expect(settings.get('APPLICATIONINSIGHTS_AUTHENTICATION_STRING')).toContain('Authorization=AAD');
    expect(settings.get('WEBSITE_CLOUD_ROLENAME')).toBe('cloudRoleName');
    expect(stripBicepComments(readText('infra/modules/monitoring.bicep'))).toMatch(/DisableLocalAuth:\s*true/);
  });

  it('references ServiceNow and webhook secrets from Key Vault by versionless SecretUri', () => {
    const secretNames = [...settings.keys()].filter((n) => /SECRET|PASSWORD|KEY$/.test(n) && n !== 'APPLICATIONINSIGHTS_CONNECTION_STRING');
    expect(secretNames.length).toBeGreaterThanOrEqual(3);
    const refs = [...main.matchAll(/'@Microsoft\.KeyVault\(([^)]*)\)'/g)].map((m) => m[1]!);
    expect(refs.length).toBeGreaterThanOrEqual(secretNames.length);
    for (const ref of refs) {
      expect(ref).toMatch(/^SecretUri=\$\{keyVault\.outputs\.uri\}secrets\/[a-z0-9-]+$/);
    }
    for (const name of secretNames) {
      expect(settings.get(name), name).toMatch(/^secretReference\.\w+$/);
    }
    // references resolve with the user-assigned identity
    expect(functionApp).toMatch(/keyVaultReferenceIdentity:\s*identityId/);
  });

  it('does not set settings Flex Consumption rejects', () => {
    for (const name of ['FUNCTIONS_WORKER_RUNTIME', 'FUNCTIONS_EXTENSION_VERSION', 'WEBSITE_RUN_FROM_PACKAGE', 'WEBSITE_NODE_DEFAULT_VERSION']) {
      expect(assignedKeys.has(name), name).toBe(false);
    }
  });
});

describe('function app', () => {
  it('runs on Flex Consumption with Node.js 22 and a blob deployment container read by the identity', () => {
    expect(functionApp).toMatch(/tier:\s*'FlexConsumption'/);
    expect(functionApp).toMatch(/name:\s*'FC1'/);
    expect(functionApp).toMatch(/runtime:\s*\{\s*name:\s*'node'\s*version:\s*'22'\s*\}/);
    expect(functionApp).toMatch(/type:\s*'blobContainer'/);
    expect(functionApp).toMatch(/type:\s*'UserAssignedIdentity'/);
    expect(functionApp).toMatch(/httpsOnly:\s*true/);
    expect(functionApp).toMatch(/'azd-service-name':\s*'api'/);
    const pkg = readJson('package.json') as { engines?: { node?: string } };
    expect(pkg.engines?.node, 'package.json engines and Bicep runtime agree on Node 22').toMatch(/>=\s*22/);
  });

  it('outputs the API URL under host.json routePrefix, the identity and the caller roles', () => {
    const host = readJson('host.json') as { extensions?: { http?: { routePrefix?: string } } };
    const prefix = host.extensions?.http?.routePrefix ?? 'api';
    expect(main).toContain(`output API_URL string = 'https://\${functionApp.outputs.defaultHostName}/${prefix}'`);
    expect(main).toMatch(/output APP_IDENTITY_PRINCIPAL_ID string = identity\.outputs\.principalId/);
    expect(main).toMatch(/output CALLER_APP_ROLES array = map\(appRoles\.roles/);
    expect(main).toMatch(/loadJsonContent\('app-roles\.json'\)/);
  });

  it('pre-creates every queue of application/messages.ts', () => {
    const start = main.indexOf('var queueNames = [');
    const block = main.slice(start, main.indexOf(']', start));
    const declared = [...block.matchAll(/'([a-z0-9-]+)'/g)].map((m) => m[1]);
    expect(new Set(declared)).toEqual(new Set(Object.values(QUEUES)));
    expect(main).toMatch(/queueNames:\s*queueNames/);
  });

  it('main.parameters.json feeds only declared params, with azd ${VAR} values, and every required param', () => {
    const params = (readJson('infra/main.parameters.json') as { parameters: Record<string, { value: unknown }> }).parameters;
    const declared = new Map(
      [...main.matchAll(/^param\s+(\w+)\s+(\w+)(\s*=)?/gm)].map((m) => [m[1]!, { hasDefault: m[3] !== undefined }]),
    );
    for (const [name, { value }] of Object.entries(params)) {
      expect(declared.has(name), `parameter ${name} is declared in main.bicep`).toBe(true);
      expect(value).toMatch(/^\$\{[A-Z][A-Z0-9_]*\}$/);
    }
    const requiredParams = [...declared].filter(([, d]) => !d.hasDefault).map(([n]) => n);
    expect(requiredParams.filter((n) => !(n in params)), 'required params without a value').toEqual([]);
    expect(params.environmentName?.value).toBe('${AZURE_ENV_NAME}');
    expect(params.location?.value).toBe('${AZURE_LOCATION}');
  });
});
