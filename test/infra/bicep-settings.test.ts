import { describe, expect, it } from 'vitest';
import { SETTINGS } from '../../config/settings.js';
import { CONTROL_PLANE_QUEUES, QUEUES, REMEDIATION_QUEUES, ROLLOUT_QUEUES, WEBHOOK_QUEUES } from '../../application/messages.js';
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

/**
 * Every app setting main.bicep can set: the keys of `appSettings` and of the conditional setting
 * objects after it (up to the function app module), as `name -> value expressions`.
 */
function allAppSettings(): Map<string, string[]> {
  const start = main.indexOf('var appSettings = {');
  const end = main.indexOf("module functionApp 'modules/function-app.bicep'", start);
  expect(end, 'the function app module follows the app settings').toBeGreaterThan(start);
  const out = new Map<string, string[]>();
  for (const m of main.slice(start, end).matchAll(/^\s+([A-Za-z_][A-Za-z0-9_]*)\s*:\s*(.+)$/gm)) out.set(m[1]!, [...(out.get(m[1]!) ?? []), m[2]!.trim()]);
  return out;
}

/** Settings the platform (Functions host, App Service, Application Insights) reads, not the app. */
const PLATFORM_EXACT = new Set(['APPLICATIONINSIGHTS_CONNECTION_STRING', 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING']);
const PLATFORM_PREFIXES = ['FUNCTIONS_', 'WEBSITE_', 'AzureWebJobsStorage__'];
const isPlatformSetting = (name: string): boolean => PLATFORM_EXACT.has(name) || PLATFORM_PREFIXES.some((p) => name.startsWith(p));

describe('app settings set by main.bicep', () => {
  const settings = appSettings();

  it('sets every requiredInAzure setting of config/settings.ts', () => {
    const required = SETTINGS.filter((s) => s.requiredInAzure).map((s) => s.name);
    expect(required.length).toBeGreaterThan(0);
    const missing = required.filter((name) => !settings.has(name));
    expect(missing, 'requiredInAzure settings missing from main.bicep appSettings').toEqual([]);
    // and the object really reaches the site's appsettings config
    expect(main).toMatch(/appSettings:\s*union\(appSettings[,)]/);
    expect(functionApp).toMatch(/name:\s*'appsettings'\s*\n\s*properties:\s*appSettings/);
  });

  it('only sets settings the app declares (config/settings.ts SETTINGS) or the platform reads', () => {
    const declared = new Set(SETTINGS.map((s) => s.name));
    const all = allAppSettings();
    expect(all.size).toBeGreaterThan(settings.size);
    const unknown = [...all.keys()].filter((n) => !declared.has(n) && !isPlatformSetting(n));
    expect(unknown, 'app settings neither in SETTINGS nor platform settings (a name the app does not read)').toEqual([]);
  });

  it('sets the webhook and ServiceNow settings under the names the app reads, secrets as Key Vault references', () => {
    const all = allAppSettings();
    for (const name of ['WEBHOOK_SECRET_KEY', 'SERVICENOW_CHANGE_WEBHOOK_SECRET', 'SERVICENOW_PASSWORD', 'SERVICENOW_CLIENT_SECRET']) {
      expect(all.get(name), name).toBeDefined();
      for (const value of all.get(name) ?? []) expect(value, name).toMatch(/^secretReference\.\w+$/);
    }
    for (const name of ['SERVICENOW_AUTH', 'SERVICENOW_INSTANCE_URL', 'SERVICENOW_USERNAME', 'SERVICENOW_CLIENT_ID', 'SERVICENOW_ASSIGNMENT_GROUP']) expect(all.has(name), name).toBe(true);
    // SERVICENOW_AUTH only takes the values config/settings.ts accepts.
    for (const value of all.get('SERVICENOW_AUTH') ?? []) expect(["'basic'", "'oauth'"]).toContain(value);
    // The app refuses to start on an unresolved reference of these (the literal @Microsoft.KeyVault text):
    // they must not be in the unconditional settings, only switched on once the secret exists.
    for (const name of ['WEBHOOK_SECRET_KEY', 'SERVICENOW_CHANGE_WEBHOOK_SECRET']) expect(settings.has(name), name).toBe(false);
    expect(main).toMatch(/appSettings:\s*union\(appSettings, optionalSettings, webhookSettings, serviceNowChangeSettings, serviceNowSettings\)/);
  });

  it('uses identity-based storage with the user-assigned identity', () => {
    expect(settings.get('AzureWebJobsStorage__credential')).toBe("'managedidentity'");
    expect(settings.get('AzureWebJobsStorage__clientId')).toBe('identity.outputs.clientId');
    expect(settings.get('AZURE_CLIENT_ID')).toBe('identity.outputs.clientId');
    expect(settings.get('AzureWebJobsStorage__accountName')).toBe('storage.outputs.name');
    expect(settings.has('AzureWebJobsStorage'), 'no AzureWebJobsStorage connection string in Azure').toBe(false);
  });

  it('gives the host and the app the storage account\'s own endpoints, so sovereign clouds work', () => {
    expect(settings.get('AzureWebJobsStorage__blobServiceUri')).toBe('storage.outputs.blobEndpoint');
    expect(settings.get('AzureWebJobsStorage__queueServiceUri')).toBe('storage.outputs.queueEndpoint');
    expect(settings.get('AzureWebJobsStorage__tableServiceUri')).toBe('storage.outputs.tableEndpoint');
    const storage = stripBicepComments(readText('infra/modules/storage.bicep'));
    for (const service of ['blob', 'queue', 'table']) {
      expect(storage).toMatch(new RegExp(`output ${service}Endpoint string = storageAccount\\.properties\\.primaryEndpoints\\.${service}\\b`));
    }
    // The ARM endpoint comes from the cloud the template is deployed to, too.
    expect(settings.get('AZURE_RESOURCE_MANAGER_ENDPOINT')).toBe('environment().resourceManager');
  });

  it('sends telemetry to Application Insights with Entra ID auth and a cloud role name', () => {
    expect(settings.get('APPLICATIONINSIGHTS_CONNECTION_STRING')).toBe('monitoring.outputs.connectionString');
    expect(settings.get('APPLICATIONINSIGHTS_AUTHENTICATION_STRING')).toContain('Authorization=AAD');
    expect(settings.get('WEBSITE_CLOUD_ROLENAME')).toBe('effectiveCloudRoleName');
    expect(main).toMatch(/var effectiveCloudRoleName = empty\(cloudRoleName\) \? 'arc-compliance' : cloudRoleName/);
    expect(stripBicepComments(readText('infra/modules/monitoring.bicep'))).toMatch(/DisableLocalAuth:\s*true/);
  });

  it('references ServiceNow and webhook secrets from Key Vault by versionless SecretUri', () => {
    const all = allAppSettings();
    const secretNames = [...all.keys()].filter((n) => /SECRET|PASSWORD|KEY$/.test(n) && n !== 'APPLICATIONINSIGHTS_CONNECTION_STRING');
    expect(secretNames.length).toBeGreaterThanOrEqual(4);
    const refs = [...main.matchAll(/'@Microsoft\.KeyVault\(([^)]*)\)'/g)].map((m) => m[1]!);
    expect(refs.length).toBeGreaterThanOrEqual(secretNames.length);
    for (const ref of refs) {
      expect(ref).toMatch(/^SecretUri=\$\{keyVault\.outputs\.uri\}secrets\/[a-z0-9-]+$/);
    }
    for (const name of secretNames) {
      for (const value of all.get(name) ?? []) expect(value, name).toMatch(/^secretReference\.\w+$/);
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
    expect(new Set(declared)).toEqual(new Set([...Object.values(QUEUES), ...Object.values(ROLLOUT_QUEUES), ...Object.values(WEBHOOK_QUEUES), ...Object.values(REMEDIATION_QUEUES), ...Object.values(CONTROL_PLANE_QUEUES)]));
    expect(main).toMatch(/queueNames:\s*queueNames/);
  });

  it('main.parameters.json feeds only declared params, with azd ${VAR} values, and every required param', () => {
    const params = (readJson('infra/main.parameters.json') as { parameters: Record<string, { value: unknown }> }).parameters;
    const declared = new Map(
      [...main.matchAll(/^param\s+(\w+)\s+(\w+)(\s*=)?/gm)].map((m) => [m[1]!, { hasDefault: m[3] !== undefined }]),
    );
    for (const [name, { value }] of Object.entries(params)) {
      expect(declared.has(name), `parameter ${name} is declared in main.bicep`).toBe(true);
      expect(value).toMatch(/^\$\{[A-Z][A-Z0-9_]*(?:=[^}]*)?\}$/);
    }
    const requiredParams = [...declared].filter(([, d]) => !d.hasDefault).map(([n]) => n);
    expect(requiredParams.filter((n) => !(n in params)), 'required params without a value').toEqual([]);
    expect(params.environmentName?.value).toBe('${AZURE_ENV_NAME}');
    expect(params.location?.value).toBe('${AZURE_LOCATION}');
  });
});
