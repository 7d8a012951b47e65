/**
 * Application settings: parsed once from the environment into a frozen, typed object.
 *
 * Every setting the app reads is declared in {@link SETTINGS}. `infra/main.bicep` must set each
 * `requiredInAzure` setting (a test cross-checks this), and docs/configuration in README.md lists them all.
 */

export interface StorageSettings {
  /** A connection string (Azurite locally) — or undefined when identity-based storage is used. */
  readonly connectionString: string | undefined;
  /** Identity-based storage (`AzureWebJobsStorage__accountName` etc.), as the Functions host uses it. */
  readonly accountName: string | undefined;
  readonly tableServiceUri: string | undefined;
  readonly queueServiceUri: string | undefined;
  readonly blobServiceUri: string | undefined;
  /** `managedidentity` in Azure; the client id of a user-assigned identity when one is used. */
  readonly credential: string | undefined;
  readonly clientId: string | undefined;
}

export interface AuthSettings {
  readonly issuer: string | undefined;
  readonly audience: string | undefined;
  readonly jwksUri: string | undefined;
}

export interface AppConfig {
  readonly storage: StorageSettings;
  readonly armEndpoint: string;
  readonly subscriptionIds: readonly string[] | undefined;
  readonly azureClientId: string | undefined;
  readonly evaluationSchedule: string;
  readonly historyRetentionDays: number;
  readonly armMaxConcurrency: number;
  readonly auth: AuthSettings;
  readonly rolloutGateRecheckSeconds: number;
  readonly rolloutVerifyTimeoutSeconds: number;
  readonly webhookAllowlist: readonly string[];
  readonly maxRequestBodyBytes: number;
}

export interface SettingSpec {
  readonly name: string;
  readonly description: string;
  readonly default?: string;
  /** True when a deployed app must have it set (the Bicep cross-check reads this). */
  readonly requiredInAzure: boolean;
}

/** The one list of settings the application reads. Order is the order of the README table. */
export const SETTINGS: readonly SettingSpec[] = Object.freeze([
  { name: 'AzureWebJobsStorage', description: 'Storage connection string (Azurite locally). In Azure use the identity-based `AzureWebJobsStorage__*` settings instead.', requiredInAzure: false },
  { name: 'AzureWebJobsStorage__accountName', description: 'Storage account name for identity-based connections.', requiredInAzure: true },
  { name: 'AzureWebJobsStorage__credential', description: '`managedidentity` for identity-based storage connections.', requiredInAzure: true },
  { name: 'AzureWebJobsStorage__clientId', description: 'Client id of the user-assigned identity used for storage.', requiredInAzure: true },
  { name: 'AZURE_CLIENT_ID', description: 'Client id of the user-assigned managed identity used for Azure Resource Manager.', requiredInAzure: true },
  { name: 'AZURE_RESOURCE_MANAGER_ENDPOINT', description: 'ARM endpoint (sovereign clouds, Azure Local disconnected).', default: 'https://management.azure.com', requiredInAzure: false },
  { name: 'AZURE_SUBSCRIPTION_IDS', description: 'Comma-separated subscription ids to evaluate; empty means every subscription the identity can see.', requiredInAzure: false },
  { name: 'EVALUATION_SCHEDULE', description: 'NCRONTAB (6 fields) schedule of the nightly evaluation.', default: '0 0 2 * * *', requiredInAzure: true },
  { name: 'HISTORY_RETENTION_DAYS', description: 'Days of per-cluster history kept.', default: '90', requiredInAzure: false },
  { name: 'ARM_MAX_CONCURRENCY', description: 'Concurrent ARM requests per subscription collector.', default: '4', requiredInAzure: false },
  { name: 'AUTH_ISSUER', description: 'Entra ID v2 issuer, e.g. https://login.microsoftonline.com/{tenant}/v2.0.', requiredInAzure: true },
  { name: 'AUTH_AUDIENCE', description: 'Application ID URI or client id of the API app registration.', requiredInAzure: true },
  { name: 'AUTH_JWKS_URI', description: 'JWKS URI; discovered from AUTH_ISSUER when unset.', requiredInAzure: false },
  { name: 'ROLLOUT_GATE_RECHECK_SECONDS', description: 'How often a blocked rollout gate is re-checked.', default: '900', requiredInAzure: false },
  { name: 'ROLLOUT_VERIFY_TIMEOUT_SECONDS', description: 'How long a rollout waits for deny results after apply.', default: '3600', requiredInAzure: false },
  { name: 'WEBHOOK_ALLOWLIST', description: 'Comma-separated hosts, host:port or CIDRs webhooks may reach despite private addresses.', default: '', requiredInAzure: false },
  { name: 'MAX_REQUEST_BODY_BYTES', description: 'Largest accepted request body.', default: '65536', requiredInAzure: false },
]);

/** Thrown at start-up; lists every problem at once so a deployment is fixed in one pass. */
export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

type Env = Readonly<Record<string, string | undefined>>;

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Parses the environment into a frozen config. Throws {@link ConfigError} naming every invalid
 * or missing setting.
 */
export function loadConfig(env: Env = process.env): AppConfig {
  const problems: string[] = [];
  const str = (name: string): string | undefined => {
    const v = env[name]?.trim();
    return v === undefined || v === '' ? undefined : v;
  };
  const int = (name: string, fallback: number, min: number, max: number): number => {
    const raw = str(name);
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) {
      problems.push(`${name} must be an integer between ${min} and ${max} (got "${raw}")`);
      return fallback;
    }
    return n;
  };
  const url = (name: string, fallback?: string): string | undefined => {
    const raw = str(name) ?? fallback;
    if (raw === undefined) return undefined;
    try {
      const u = new URL(raw);
      if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new Error('scheme');
      return raw.replace(/\/+$/, '');
    } catch {
      problems.push(`${name} must be an absolute http(s) URL (got "${raw}")`);
      return fallback;
    }
  };

  const storage: StorageSettings = Object.freeze({
    connectionString: str('AzureWebJobsStorage'),
    accountName: str('AzureWebJobsStorage__accountName'),
    tableServiceUri: url('AzureWebJobsStorage__tableServiceUri'),
    queueServiceUri: url('AzureWebJobsStorage__queueServiceUri'),
    blobServiceUri: url('AzureWebJobsStorage__blobServiceUri'),
    credential: str('AzureWebJobsStorage__credential'),
    clientId: str('AzureWebJobsStorage__clientId'),
  });
  if (!storage.connectionString && !storage.accountName && !(storage.tableServiceUri && storage.queueServiceUri)) {
    problems.push('AzureWebJobsStorage (connection string) or AzureWebJobsStorage__accountName (identity-based) is required');
  }

  const armEndpoint = url('AZURE_RESOURCE_MANAGER_ENDPOINT', 'https://management.azure.com') ?? 'https://management.azure.com';
  if (armEndpoint.startsWith('http:')) problems.push('AZURE_RESOURCE_MANAGER_ENDPOINT must use https (the Azure SDK refuses bearer tokens over http)');

  let subscriptionIds: string[] | undefined;
  const subs = str('AZURE_SUBSCRIPTION_IDS');
  if (subs !== undefined) {
    subscriptionIds = subs.split(',').map((s) => s.trim()).filter((s) => s !== '');
    const bad = subscriptionIds.filter((s) => !GUID.test(s));
    if (bad.length > 0) problems.push(`AZURE_SUBSCRIPTION_IDS has entries that are not GUIDs: ${bad.join(', ')}`);
    subscriptionIds = subscriptionIds.map((s) => s.toLowerCase());
  }

  const azureClientId = str('AZURE_CLIENT_ID');
  if (azureClientId !== undefined && !GUID.test(azureClientId)) problems.push('AZURE_CLIENT_ID must be a GUID');

  const evaluationSchedule = str('EVALUATION_SCHEDULE') ?? '0 0 2 * * *';
  if (evaluationSchedule.split(/\s+/).length !== 6) problems.push(`EVALUATION_SCHEDULE must be a 6-field NCRONTAB expression (got "${evaluationSchedule}")`);

  const auth: AuthSettings = Object.freeze({
    issuer: url('AUTH_ISSUER'),
    audience: str('AUTH_AUDIENCE'),
    jwksUri: url('AUTH_JWKS_URI'),
  });
  if (auth.issuer === undefined) problems.push('AUTH_ISSUER is required (the Entra ID v2 issuer of API callers\' tokens)');
  if (auth.audience === undefined) problems.push('AUTH_AUDIENCE is required (the API app registration\'s Application ID URI or client id)');

  const webhookAllowlist = (str('WEBHOOK_ALLOWLIST') ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');

  const config: AppConfig = Object.freeze({
    storage,
    armEndpoint,
    subscriptionIds: subscriptionIds ? Object.freeze(subscriptionIds) : undefined,
    azureClientId,
    evaluationSchedule,
    historyRetentionDays: int('HISTORY_RETENTION_DAYS', 90, 1, 3650),
    armMaxConcurrency: int('ARM_MAX_CONCURRENCY', 4, 1, 64),
    auth,
    rolloutGateRecheckSeconds: int('ROLLOUT_GATE_RECHECK_SECONDS', 900, 1, 86_400),
    rolloutVerifyTimeoutSeconds: int('ROLLOUT_VERIFY_TIMEOUT_SECONDS', 3600, 1, 86_400),
    webhookAllowlist: Object.freeze(webhookAllowlist),
    maxRequestBodyBytes: int('MAX_REQUEST_BODY_BYTES', 65_536, 1024, 4 * 1024 * 1024),
  });
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}
