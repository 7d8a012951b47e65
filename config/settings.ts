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

/** ServiceNow connection for `servicenow-*` webhooks and inbound change approvals (docs/webhooks.md). */
export interface ServiceNowSettings {
  /**
   * Origin of the ServiceNow instance (`https://<instance>.service-now.com`): the only place credentials
   * are sent. Required with `auth`; a `servicenow-*` webhook must point at this origin.
   */
  readonly instanceUrl: string | undefined;
  /** Undefined when outbound ServiceNow calls are not configured. */
  readonly auth:
    | { readonly mode: 'basic'; readonly username: string; readonly password: string }
    | { readonly mode: 'oauth'; readonly clientId: string; readonly clientSecret: string; readonly username?: string | undefined; readonly password?: string | undefined }
    | undefined;
  readonly category: string;
  readonly assignmentGroup: string | undefined;
  /** `whsec_` secrets that sign inbound change events (two during a rotation); empty refuses them all. */
  readonly changeWebhookSecrets: readonly string[];
}

export interface WebhookSettings {
  /** Base64 of the 32-byte AES-256-GCM key protecting signing secrets (a Key Vault reference in Azure). */
  readonly secretKey: string | undefined;
  /** Days delivery records are kept; older terminal deliveries are deleted after each evaluation run. */
  readonly deliveryRetentionDays: number;
  readonly serviceNow: ServiceNowSettings;
}

export interface AppConfig {
  readonly storage: StorageSettings;
  readonly armEndpoint: string;
  readonly subscriptionIds: readonly string[] | undefined;
  readonly azureClientId: string | undefined;
  readonly evaluationSchedule: string;
  readonly historyRetentionDays: number;
  /** Days evidence blobs are immutable (the container's retention policy in Azure). */
  readonly evidenceRetentionDays: number;
  readonly armMaxConcurrency: number;
  /** NCRONTAB of the control-plane watch (Azure Activity Log read per subscription). */
  readonly controlPlaneWatchSchedule: string;
  /** ARC-TD-04: days before the run start in which an admin kubeconfig download fails the control (1-90). */
  readonly breakGlassLookbackDays: number;
  readonly auth: AuthSettings;
  readonly rolloutGateRecheckSeconds: number;
  readonly rolloutVerifyTimeoutSeconds: number;
  /** Delay of a remediation's first completion check (later ones double, up to 15 minutes). */
  readonly remediationCheckDelaySeconds: number;
  /** Hours after its start that a remediation's completion checks give up. */
  readonly remediationCheckMaxHours: number;
  readonly webhookAllowlist: readonly string[];
  readonly maxRequestBodyBytes: number;
  readonly webhooks: WebhookSettings;
  /** Client id of the dashboard's app registration (SPA platform); undefined: the dashboard cannot sign anyone in. */
  readonly dashboardClientId: string | undefined;
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
  { name: 'AzureWebJobsStorage__tableServiceUri', description: 'Table endpoint of the storage account (identity-based). infra sets it from the account, so sovereign clouds work; without it `https://<accountName>.table.core.windows.net` is assumed (public cloud only).', requiredInAzure: true },
  { name: 'AzureWebJobsStorage__queueServiceUri', description: 'Queue endpoint of the storage account (identity-based); the Functions host uses it too. Without it `https://<accountName>.queue.core.windows.net` is assumed.', requiredInAzure: true },
  { name: 'AzureWebJobsStorage__blobServiceUri', description: 'Blob endpoint of the storage account (identity-based), used by the Functions host. Without it `https://<accountName>.blob.core.windows.net` is assumed.', requiredInAzure: true },
  { name: 'AZURE_CLIENT_ID', description: 'Client id of the user-assigned managed identity used for Azure Resource Manager.', requiredInAzure: true },
  { name: 'AZURE_RESOURCE_MANAGER_ENDPOINT', description: 'ARM endpoint (sovereign clouds, Azure Local disconnected).', default: 'https://management.azure.com', requiredInAzure: false },
  { name: 'AZURE_SUBSCRIPTION_IDS', description: 'Comma-separated subscription ids to evaluate; empty means every subscription the identity can see.', requiredInAzure: false },
  { name: 'EVALUATION_SCHEDULE', description: 'NCRONTAB (6 fields) schedule of the nightly evaluation.', default: '0 0 2 * * *', requiredInAzure: true },
  { name: 'CONTROLPLANE_WATCH_SCHEDULE', description: 'NCRONTAB (6 fields) of the control-plane watch: each subscription\'s Azure Activity Log is read from its watermark (break-glass downloads, extension removals, access and policy changes).', default: '0 */15 * * * *', requiredInAzure: true },
  { name: 'BREAK_GLASS_LOOKBACK_DAYS', description: 'ARC-TD-04: a Succeeded admin kubeconfig download (listAdminKubeconfig) within this many days before the run start fails the control (1-90, the Activity Log keeps 90 days).', default: '30', requiredInAzure: false },
  { name: 'HISTORY_RETENTION_DAYS', description: 'Days of per-cluster history kept.', default: '90', requiredInAzure: false },
  { name: 'EVIDENCE_RETENTION_DAYS', description: 'Days every evidence blob stays immutable: the time-based retention (WORM) policy infra puts on the evidence container; the evidence API reports each run\'s evidence as retained until its end plus this many days.', default: '400', requiredInAzure: true },
  { name: 'ARM_MAX_CONCURRENCY', description: 'Concurrent ARM requests per subscription collector.', default: '4', requiredInAzure: false },
  { name: 'AUTH_ISSUER', description: 'Entra ID v2 issuer, e.g. https://login.microsoftonline.com/{tenant}/v2.0.', requiredInAzure: true },
  { name: 'AUTH_AUDIENCE', description: 'Application ID URI or client id of the API app registration.', requiredInAzure: true },
  { name: 'AUTH_JWKS_URI', description: 'JWKS URI; discovered from AUTH_ISSUER when unset.', requiredInAzure: false },
  { name: 'ROLLOUT_GATE_RECHECK_SECONDS', description: 'How often a blocked rollout gate is re-checked.', default: '900', requiredInAzure: false },
  { name: 'ROLLOUT_VERIFY_TIMEOUT_SECONDS', description: 'How long a rollout waits for deny results after apply.', default: '3600', requiredInAzure: false },
  { name: 'REMEDIATION_CHECK_DELAY_SECONDS', description: 'Delay of the first background check of a started remediation; later checks double it, up to 15 minutes.', default: '60', requiredInAzure: false },
  { name: 'REMEDIATION_CHECK_MAX_HOURS', description: 'Hours after its start that background checks of an unfinished remediation give up.', default: '48', requiredInAzure: false },
  { name: 'WEBHOOK_ALLOWLIST', description: 'Comma-separated hosts, host:port or CIDRs webhooks may reach despite private addresses.', default: '', requiredInAzure: false },
  { name: 'MAX_REQUEST_BODY_BYTES', description: 'Largest accepted request body.', default: '65536', requiredInAzure: false },
  { name: 'WEBHOOK_SECRET_KEY', description: 'Base64 of 32 random bytes: the AES-256-GCM key that encrypts webhook signing secrets (a Key Vault reference in Azure; generated by `npm start` locally).', requiredInAzure: false },
  { name: 'WEBHOOK_DELIVERY_RETENTION_DAYS', description: 'Days webhook delivery records are kept (older finished deliveries are deleted after each evaluation run).', default: '30', requiredInAzure: false },
  { name: 'SERVICENOW_AUTH', description: '`basic` or `oauth`: how ServiceNow webhooks authenticate; unset disables ServiceNow formats.', requiredInAzure: false },
  { name: 'SERVICENOW_INSTANCE_URL', description: 'Origin of the ServiceNow instance (`https://<instance>.service-now.com`), required with SERVICENOW_AUTH: the only origin ServiceNow credentials are sent to; `servicenow-*` webhooks must use it as their url.', requiredInAzure: false },
  { name: 'SERVICENOW_USERNAME', description: 'ServiceNow user (basic auth, or the OAuth password grant).', requiredInAzure: false },
  { name: 'SERVICENOW_PASSWORD', description: 'Password of SERVICENOW_USERNAME (a Key Vault reference in Azure).', requiredInAzure: false },
  { name: 'SERVICENOW_CLIENT_ID', description: 'OAuth client id (`/oauth_token.do`).', requiredInAzure: false },
  { name: 'SERVICENOW_CLIENT_SECRET', description: 'OAuth client secret (a Key Vault reference in Azure).', requiredInAzure: false },
  { name: 'SERVICENOW_CATEGORY', description: 'Incident `category` of compliance incidents.', default: 'software', requiredInAzure: false },
  { name: 'SERVICENOW_ASSIGNMENT_GROUP', description: 'Incident `assignment_group` (name or sys_id) of compliance incidents.', requiredInAzure: false },
  { name: 'DASHBOARD_CLIENT_ID', description: 'Client id of the app registration the dashboard signs people in with (authorization code flow with PKCE, SPA redirect URI `https://<app>/api/dashboard`); usually the API registration itself. Unset: the dashboard page explains that sign-in is not configured.', requiredInAzure: false },
  { name: 'SERVICENOW_CHANGE_WEBHOOK_SECRET', description: 'Space-separated `whsec_` secret(s) verifying inbound ServiceNow change events; unset refuses them.', requiredInAzure: false },
]);

/** Thrown at start-up; lists every problem at once so a deployment is fixed in one pass. */
export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

type Env = Readonly<Record<string, string | undefined>>;

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * `SERVICENOW_INSTANCE_URL` as an origin: https, no credentials, path, query or fragment. Plain http
 * only for a loopback host (a local stand-in: the credentials never leave the machine).
 */
function serviceNowOrigin(raw: string): { ok: true; value: string } | { ok: false; problem: string } {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    return { ok: false, problem: 'must be an absolute https URL' };
  }
  if (u.protocol !== 'https:' && !(u.protocol === 'http:' && LOOPBACK_HOSTS.has(u.hostname))) return { ok: false, problem: 'must use https (http only for a loopback stand-in)' };
  if (u.username !== '' || u.password !== '') return { ok: false, problem: 'must not contain credentials' };
  if ((u.pathname !== '/' && u.pathname !== '') || u.search !== '' || u.hash !== '') return { ok: false, problem: 'must be an origin (scheme://host[:port]) without a path, query or fragment' };
  return { ok: true, value: u.origin };
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Parses the environment into a frozen config. Throws {@link ConfigError} naming every invalid
 * or missing setting.
 */
export function loadConfig(env: Env = process.env): AppConfig {
  const problems: string[] = [];
  const str = (name: string): string | undefined => {
    const v = env[name]?.trim();
    if (v === undefined || v === '') return undefined;
    // App Service leaves a Key Vault reference it could not resolve as its literal text; using that as
    // a password or key would fail later and obscurely, so name it now.
    if (/^@Microsoft\.KeyVault\(/i.test(v)) {
      problems.push(`${name} is an unresolved Key Vault reference: check that the secret exists and the app's identity has Key Vault Secrets User on the vault`);
      return undefined;
    }
    return v;
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

  const controlPlaneWatchSchedule = str('CONTROLPLANE_WATCH_SCHEDULE') ?? '0 */15 * * * *';
  if (controlPlaneWatchSchedule.split(/\s+/).length !== 6) problems.push(`CONTROLPLANE_WATCH_SCHEDULE must be a 6-field NCRONTAB expression (got "${controlPlaneWatchSchedule}")`);

  const auth: AuthSettings = Object.freeze({
    issuer: url('AUTH_ISSUER'),
    audience: str('AUTH_AUDIENCE'),
    jwksUri: url('AUTH_JWKS_URI'),
  });
  if (auth.issuer === undefined) problems.push('AUTH_ISSUER is required (the Entra ID v2 issuer of API callers\' tokens)');
  if (auth.audience === undefined) problems.push('AUTH_AUDIENCE is required (the API app registration\'s Application ID URI or client id)');

  const dashboardClientId = str('DASHBOARD_CLIENT_ID');
  if (dashboardClientId !== undefined && !/^[A-Za-z0-9._-]{1,128}$/.test(dashboardClientId)) problems.push('DASHBOARD_CLIENT_ID must be a client id (a GUID in Entra ID)');

  const webhookAllowlist = (str('WEBHOOK_ALLOWLIST') ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');
  for (const entry of webhookAllowlist) {
    if (!/^(\[[0-9a-fA-F:.]+\](:\d{1,5})?|[0-9a-fA-F:.]+\/\d{1,3}|[0-9a-fA-F:]*:[0-9a-fA-F:.]*|[A-Za-z0-9.-]+(:\d{1,5})?)$/.test(entry)) {
      problems.push(`WEBHOOK_ALLOWLIST entry "${entry}" is not a host, host:port or CIDR`);
    }
  }

  const webhookSecretKey = str('WEBHOOK_SECRET_KEY');
  if (webhookSecretKey !== undefined && Buffer.from(webhookSecretKey, 'base64').length !== 32) problems.push('WEBHOOK_SECRET_KEY must be the base64 encoding of 32 random bytes');
  const snAuthMode = str('SERVICENOW_AUTH')?.toLowerCase();
  let snAuth: ServiceNowSettings['auth'];
  if (snAuthMode === 'basic') {
    const username = str('SERVICENOW_USERNAME');
    const password = str('SERVICENOW_PASSWORD');
    if (username === undefined || password === undefined) problems.push('SERVICENOW_AUTH=basic needs SERVICENOW_USERNAME and SERVICENOW_PASSWORD');
    else snAuth = Object.freeze({ mode: 'basic' as const, username, password });
  } else if (snAuthMode === 'oauth') {
    const clientId = str('SERVICENOW_CLIENT_ID');
    const clientSecret = str('SERVICENOW_CLIENT_SECRET');
    if (clientId === undefined || clientSecret === undefined) problems.push('SERVICENOW_AUTH=oauth needs SERVICENOW_CLIENT_ID and SERVICENOW_CLIENT_SECRET');
    else snAuth = Object.freeze({ mode: 'oauth' as const, clientId, clientSecret, username: str('SERVICENOW_USERNAME'), password: str('SERVICENOW_PASSWORD') });
  } else if (snAuthMode !== undefined) {
    problems.push(`SERVICENOW_AUTH must be basic or oauth (got "${snAuthMode}")`);
  }
  // Credentials go to this one origin only, never to a webhook's own url: anyone allowed to create
  // webhooks could otherwise point one at a host of theirs and receive them.
  const snInstanceRaw = str('SERVICENOW_INSTANCE_URL');
  let snInstanceUrl: string | undefined;
  if (snInstanceRaw !== undefined) {
    const origin = serviceNowOrigin(snInstanceRaw);
    if (origin.ok) snInstanceUrl = origin.value;
    else problems.push(`SERVICENOW_INSTANCE_URL ${origin.problem} (got "${snInstanceRaw}")`);
  } else if (snAuthMode !== undefined) {
    problems.push('SERVICENOW_INSTANCE_URL is required when SERVICENOW_AUTH is set: the https origin of the ServiceNow instance (https://<instance>.service-now.com), the only place ServiceNow credentials are sent');
  }
  const changeWebhookSecrets = (str('SERVICENOW_CHANGE_WEBHOOK_SECRET') ?? '').split(/\s+/).filter((s) => s !== '');
  if (changeWebhookSecrets.some((s) => !/^whsec_[A-Za-z0-9+/]{32,}={0,2}$/.test(s))) problems.push('SERVICENOW_CHANGE_WEBHOOK_SECRET must be one or two whsec_ secrets (base64, at least 24 bytes)');
  const webhooks: WebhookSettings = Object.freeze({
    secretKey: webhookSecretKey,
    deliveryRetentionDays: int('WEBHOOK_DELIVERY_RETENTION_DAYS', 30, 1, 3650),
    serviceNow: Object.freeze({
      instanceUrl: snInstanceUrl,
      auth: snAuth,
      category: str('SERVICENOW_CATEGORY') ?? 'software',
      assignmentGroup: str('SERVICENOW_ASSIGNMENT_GROUP'),
      changeWebhookSecrets: Object.freeze(changeWebhookSecrets),
    }),
  });

  const config: AppConfig = Object.freeze({
    storage,
    armEndpoint,
    subscriptionIds: subscriptionIds ? Object.freeze(subscriptionIds) : undefined,
    azureClientId,
    evaluationSchedule,
    historyRetentionDays: int('HISTORY_RETENTION_DAYS', 90, 1, 3650),
    evidenceRetentionDays: int('EVIDENCE_RETENTION_DAYS', 400, 1, 146_000),
    armMaxConcurrency: int('ARM_MAX_CONCURRENCY', 4, 1, 64),
    controlPlaneWatchSchedule,
    breakGlassLookbackDays: int('BREAK_GLASS_LOOKBACK_DAYS', 30, 1, 90),
    auth,
    rolloutGateRecheckSeconds: int('ROLLOUT_GATE_RECHECK_SECONDS', 900, 1, 86_400),
    rolloutVerifyTimeoutSeconds: int('ROLLOUT_VERIFY_TIMEOUT_SECONDS', 3600, 1, 86_400),
    remediationCheckDelaySeconds: int('REMEDIATION_CHECK_DELAY_SECONDS', 60, 1, 900),
    remediationCheckMaxHours: int('REMEDIATION_CHECK_MAX_HOURS', 48, 1, 720),
    webhookAllowlist: Object.freeze(webhookAllowlist),
    maxRequestBodyBytes: int('MAX_REQUEST_BODY_BYTES', 65_536, 1024, 4 * 1024 * 1024),
    webhooks,
    dashboardClientId,
  });
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}
