/**
 * The whole system on one machine: in-process Azurite, the HTTPS ARM emulator (with the managed
 * identity endpoint and the local Entra ID token issuer mounted on it) and the local Functions runtime
 * running the real function registrations. Used by `npm start`, the end-to-end tests and the benchmarks.
 *
 * Precedence follows the README: a setting already in the environment wins and the matching stand-in
 * is not started (`AzureWebJobsStorage` → no Azurite, `AZURE_RESOURCE_MANAGER_ENDPOINT` → no emulator,
 * each `AUTH_*` setting on its own (see {@link applyLocalAuthSettings}), `SERVICENOW_AUTH` → no ServiceNow stand-in).
 *
 * The Functions host listens on 127.0.0.1 unless `hostname` asks for another interface; its admin API
 * needs the host's master key (`host.masterKey`).
 *
 * The ServiceNow stand-in (local/servicenow-stand-in.ts) gets generated credentials in `SERVICENOW_*`,
 * its URL as `SERVICENOW_INSTANCE_URL`, and its `host:port` appended to `WEBHOOK_ALLOWLIST` (it listens on loopback, which the SSRF policy
 * refuses otherwise); `WEBHOOK_SECRET_KEY` and `SERVICENOW_CHANGE_WEBHOOK_SECRET` are generated when unset.
 */
import { randomBytes } from 'node:crypto';
import { SETTINGS } from '../config/settings.js';
import { getCACertificates, setDefaultCACertificates } from 'node:tls';
import { startAzurite, type RunningAzurite } from './azurite.js';
import { startArmEmulator, type ArmEmulator, type ArmEmulatorOptions } from './arm-emulator/index.js';
import { derivePolicyStates, generateFleet } from './arm-emulator/fleet/index.js';
import type { FleetModel } from './arm-emulator/fleet-model.js';
import { createTokenIssuer, type TokenIssuer } from './token-issuer.js';
import { LOCAL_DASHBOARD_CLIENT_ID } from './token-issuer-interactive.js';
import { startFunctionsHost, type HostLogger, type RunningFunctionsHost } from './functions-runtime/index.js';
import { startServiceNowStandIn, type ServiceNowStandIn } from './servicenow-stand-in.js';

export interface LocalStackOptions {
  /** Listening port of the Functions host; 0 = ephemeral (tests). Default `PORT` or 7071. */
  readonly port?: number | undefined;
  /** Interface the Functions host binds; default `127.0.0.1`. `0.0.0.0` exposes it to the network (opt-in). */
  readonly hostname?: string | undefined;
  /** The fleet the emulator serves; default the seeded demo fleet. */
  readonly fleet?: FleetModel | undefined;
  /** Extra emulator options (faults, page sizes, delays, `complianceLag` for Azure Policy's eventual consistency). */
  readonly emulator?: Partial<Omit<ArmEmulatorOptions, 'fleet' | 'derivePolicyStates'>> | undefined;
  /** Persist Azurite data in this folder instead of memory. */
  readonly dataDir?: string | undefined;
  /** host.json override (object or path); default the app's host.json. */
  readonly hostJson?: object | string | undefined;
  /** Timer functions to run once at start. */
  readonly runTimersOnStart?: readonly string[] | undefined;
  /** Function entry files or globs; default the app's own (package.json `main`, its TS sources locally). */
  readonly entry?: string | readonly string[] | undefined;
  /** Extra app settings put in the environment before the app starts. */
  readonly settings?: Readonly<Record<string, string>> | undefined;
  readonly logger?: HostLogger | undefined;
  readonly now?: Date | undefined;
}

export interface LocalStack {
  readonly apiUrl: string;
  readonly host: RunningFunctionsHost;
  readonly azurite: RunningAzurite | undefined;
  readonly emulator: ArmEmulator | undefined;
  /**
   * The local token issuer, when the API accepts its tokens (`AUTH_ISSUER`, `AUTH_AUDIENCE` and
   * `AUTH_JWKS_URI` are the local ones); undefined when an `AUTH_*` setting points elsewhere.
   */
  readonly issuer: TokenIssuer | undefined;
  /** The ServiceNow stand-in, unless `SERVICENOW_AUTH` was already set. */
  readonly serviceNow: ServiceNowStandIn | undefined;
  /** `SERVICENOW_CHANGE_WEBHOOK_SECRET` as the app reads it (space-separated `whsec_` secrets), if set. */
  readonly changeWebhookSecret: string | undefined;
  readonly storageConnectionString: string;
  stop(): Promise<void>;
}

/** Trusts the emulator's self-signed certificate process-wide, as NODE_EXTRA_CA_CERTS would at start. */
function trustCertificate(pem: string): void {
  setDefaultCACertificates([...getCACertificates('default'), ...getCACertificates('extra'), pem]);
}

/**
 * Fills the `AUTH_*` settings the environment leaves unset with the local issuer's values, each one on
 * its own: `AUTH_ISSUER` when unset; `AUTH_AUDIENCE` and `AUTH_JWKS_URI` when unset *and* the issuer in
 * use is the local one (with a real tenant's issuer, keys are discovered from it and a missing audience
 * must fail the start rather than borrow the local one). Returns true when the API will accept the
 * local issuer's tokens, i.e. issuer, audience and JWKS are all the local ones.
 */
export function applyLocalAuthSettings(env: NodeJS.ProcessEnv, local: Pick<TokenIssuer, 'issuer' | 'audience' | 'jwksUri'>): boolean {
  if (!env['AUTH_ISSUER']) env['AUTH_ISSUER'] = local.issuer;
  const localIssuer = env['AUTH_ISSUER'] === local.issuer;
  if (localIssuer && !env['AUTH_AUDIENCE']) env['AUTH_AUDIENCE'] = local.audience;
  if (localIssuer && !env['AUTH_JWKS_URI']) env['AUTH_JWKS_URI'] = local.jwksUri;
  return localIssuer && env['AUTH_AUDIENCE'] === local.audience && env['AUTH_JWKS_URI'] === local.jwksUri;
}

export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  const env = process.env;
  const started: { stop(): Promise<void> }[] = [];
  const set = (name: string, value: string): void => {
    env[name] = value;
  };
  try {
    for (const [k, v] of Object.entries(options.settings ?? {})) set(k, v);

    let azurite: RunningAzurite | undefined;
    if (!env['AzureWebJobsStorage']) {
      azurite = await startAzurite({ location: options.dataDir });
      started.push(azurite);
      set('AzureWebJobsStorage', azurite.connectionString);
    }

    let emulator: ArmEmulator | undefined;
    let issuer: TokenIssuer | undefined;
    if (!env['AZURE_RESOURCE_MANAGER_ENDPOINT']) {
      const fleet = options.fleet ?? generateFleet({ mode: 'demo' }, options.now ?? new Date());
      emulator = await startArmEmulator({ ...options.emulator, fleet, derivePolicyStates });
      started.push(emulator);
      trustCertificate(emulator.caCertPem);
      set('AZURE_RESOURCE_MANAGER_ENDPOINT', emulator.url);
      set('IDENTITY_ENDPOINT', emulator.identityEndpoint);
      set('IDENTITY_HEADER', emulator.identityHeader);
      // A configured AUTH_AUDIENCE is what the local issuer then mints for, so its tokens stay valid.
      const local = await createTokenIssuer({ baseUrl: emulator.url, ...(env['AUTH_AUDIENCE'] ? { audience: env['AUTH_AUDIENCE'] } : {}) });
      emulator.mount(local.handle);
      if (applyLocalAuthSettings(env, local)) {
        issuer = local;
        // People sign in to the dashboard through the local issuer's public client.
        if (!env['DASHBOARD_CLIENT_ID']) set('DASHBOARD_CLIENT_ID', LOCAL_DASHBOARD_CLIENT_ID);
      }
    }

    let serviceNow: ServiceNowStandIn | undefined;
    if (!env['SERVICENOW_AUTH']) {
      const credentials = {
        username: 'arc-compliance',
        password: randomBytes(18).toString('base64url'),
        clientId: `arc-${randomBytes(8).toString('hex')}`,
        clientSecret: randomBytes(24).toString('base64url'),
      };
      serviceNow = await startServiceNowStandIn({ credentials });
      started.push(serviceNow);
      set('SERVICENOW_AUTH', 'basic');
      // The one origin the app sends ServiceNow credentials to; demo webhooks use it as their url.
      set('SERVICENOW_INSTANCE_URL', serviceNow.url);
      set('SERVICENOW_USERNAME', credentials.username);
      set('SERVICENOW_PASSWORD', credentials.password);
      set('SERVICENOW_CLIENT_ID', credentials.clientId);
      set('SERVICENOW_CLIENT_SECRET', credentials.clientSecret);
      if (!env['SERVICENOW_ASSIGNMENT_GROUP']) set('SERVICENOW_ASSIGNMENT_GROUP', 'Platform Security');
      const hostPort = new URL(serviceNow.url).host;
      const allowlist = (env['WEBHOOK_ALLOWLIST'] ?? '').split(',').map((x) => x.trim()).filter((x) => x !== '');
      if (!allowlist.includes(hostPort)) set('WEBHOOK_ALLOWLIST', [...allowlist, hostPort].join(','));
    }
    if (!env['WEBHOOK_SECRET_KEY']) set('WEBHOOK_SECRET_KEY', randomBytes(32).toString('base64'));
    if (!env['SERVICENOW_CHANGE_WEBHOOK_SECRET']) set('SERVICENOW_CHANGE_WEBHOOK_SECRET', `whsec_${randomBytes(32).toString('base64')}`);

    // After the stand-ins (whose own settings decide what starts). Embedded defaults: the host resolves %SETTING% expressions (the timer schedule) from app
    // settings, exactly as Azure does, so documented defaults must exist as settings locally.
    for (const s of SETTINGS) if (s.default !== undefined && s.default !== '' && env[s.name] === undefined) set(s.name, s.default);

    const host = await startFunctionsHost({
      entry: options.entry,
      port: options.port,
      hostname: options.hostname,
      hostJson: options.hostJson,
      runTimersOnStart: options.runTimersOnStart,
      logger: options.logger,
    });
    started.push(host);
    return {
      apiUrl: `${host.url}/${host.routePrefix}`,
      host,
      azurite,
      emulator,
      issuer,
      serviceNow,
      changeWebhookSecret: env['SERVICENOW_CHANGE_WEBHOOK_SECRET'],
      storageConnectionString: env['AzureWebJobsStorage'] ?? '',
      async stop() {
        for (const s of started.reverse()) await s.stop().catch(() => undefined);
      },
    };
  } catch (e) {
    for (const s of started.reverse()) await s.stop().catch(() => undefined);
    throw e;
  }
}
