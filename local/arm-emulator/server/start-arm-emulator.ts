/**
 * The Azure Resource Manager emulator: an HTTPS server speaking the ARM wire format of the official
 * examples, plus the App Service managed-identity endpoint (plain http on loopback, as in Azure
 * Functions) whose tokens every ARM route requires.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FleetModel } from '../fleet-model.js';
import { armError, InvalidSkipTokenError, pageIndexOf, subscriptionOf, type ArmResult, type ArmRoute, type DerivePolicyStates } from '../wire/arm-http.js';
import { EmulatorState, type PageSizes } from './emulator-state.js';
import type { ComplianceLag } from '../behaviours/compliance-lag.js';
import { FaultInjector, type FaultOptions } from '../behaviours/fault-injector.js';
import { armActionOf, callerOf, refusalMessage } from '../wire/arm-refusals.js';
import { identityTokenHandler } from './identity-endpoint.js';
import { RequestCounter } from './request-counter.js';
import { activityLogRoutes } from '../wire/routes/activity-log-routes.js';
import { authorizationRoutes } from '../wire/routes/authorization-routes.js';
import { policyInsightsRoutes } from '../wire/routes/policy-insights-routes.js';
import { remediationRoutes } from '../wire/routes/remediation-routes.js';
import { policyMetadataRoutes } from '../wire/routes/policy-metadata-routes.js';
import { policySetDefinitionRoutes } from '../wire/routes/policy-set-definition-routes.js';
import { resourceRoutes, subscriptionNotFound } from '../wire/routes/resource-routes.js';
import { createLocalhostCertificate } from './tls-certificate.js';
import { ARM_AUDIENCES, createTokenIssuer } from './token-issuer.js';

export interface ArmEmulatorOptions {
  readonly fleet: FleetModel;
  readonly derivePolicyStates: DerivePolicyStates;
  /** ARM (https) port; 0 (default) picks a free one. */
  readonly port?: number | undefined;
  /** Managed-identity (http) port; 0 (default) picks a free one. */
  readonly identityPort?: number | undefined;
  readonly pageSizes?: Partial<PageSizes> | undefined;
  readonly faults?: FaultOptions | undefined;
  /** How long a triggered policy evaluation runs (default 2000 ms). */
  readonly evaluationDelayMs?: number | undefined;
  /**
   * Eventual consistency of policy states (default `live`: derived from the current assignments).
   * `until-scan`: assignment and exemption writes show only once a triggered evaluation completes;
   * `{ cycleMs }`: also once `cycleMs` has passed. Switchable at runtime through `state.complianceLag`.
   */
  readonly complianceLag?: ComplianceLag | undefined;
  /** How long a remediation stays `Accepted` (default 2000 ms). */
  readonly remediationDelayMs?: number | undefined;
  /** Managed-identity token lifetime (default 3600 s). */
  readonly tokenLifetimeSeconds?: number | undefined;
  /** Clock used for derived policy states and timestamps (default: wall clock). */
  readonly now?: (() => Date) | undefined;
  /** The `X-IDENTITY-HEADER` secret (default: random). */
  readonly identityHeader?: string | undefined;
}

export interface ArmEmulator {
  /** ARM endpoint, e.g. `https://127.0.0.1:43123` (use as `AZURE_RESOURCE_MANAGER_ENDPOINT`). */
  readonly url: string;
  /** PEM of the self-signed certificate: pass as `tlsOptions: { ca }` to SDK clients. */
  readonly caCertPem: string;
  /** File holding `caCertPem`, for `NODE_EXTRA_CA_CERTS` of child processes (Node reads it only at start). */
  readonly caCertPath: string;
  /** `IDENTITY_ENDPOINT` (App Service managed identity protocol, api-version 2019-08-01). */
  readonly identityEndpoint: string;
  /** `IDENTITY_HEADER`. */
  readonly identityHeader: string;
  readonly requests: RequestCounter;
  readonly faults: FaultInjector;
  /** The live world; tests may mutate it (policy-state queries derive from its current content, or with `complianceLag` from the assignments of the last completed evaluation). */
  readonly fleet: FleetModel;
  readonly state: EmulatorState;
  /** Environment for a child process that should use this emulator through `DefaultAzureCredential`. */
  env(): Record<string, string>;
  /**
   * Serves another local stand-in on the same HTTPS origin, ahead of ARM routing and its bearer check
   * (the local Entra ID token issuer: OpenID discovery, JWKS, token endpoint). The handler returns
   * false for paths that are not its own.
   */
  mount(handler: (req: IncomingMessage, res: ServerResponse) => boolean): void;
  stop(): Promise<void>;
}

const JSON_TYPE = 'application/json; charset=utf-8';

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function send(res: ServerResponse, result: ArmResult, requestId: string): void {
  const headers: Record<string, string> = { 'x-ms-request-id': requestId, 'x-ms-correlation-request-id': requestId, ...result.headers };
  if (result.body === undefined) {
    res.writeHead(result.status, { ...headers, 'content-length': '0' }).end();
    return;
  }
  const payload = JSON.stringify(result.body);
  res.writeHead(result.status, { ...headers, 'content-type': JSON_TYPE, 'content-length': String(Buffer.byteLength(payload)) }).end(payload);
}

const close = (server: Server): Promise<void> =>
  new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });

const listen = (server: Server, port: number): Promise<number> =>
  new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function startArmEmulator(options: ArmEmulatorOptions): Promise<ArmEmulator> {
  const tls = await createLocalhostCertificate();
  const issuer = await createTokenIssuer(options.fleet.tenantId, options.tokenLifetimeSeconds ?? 3600);
  const identityHeader = options.identityHeader ?? randomBytes(24).toString('hex');
  const state = new EmulatorState(
    options.fleet,
    options.derivePolicyStates,
    options.now ?? (() => new Date()),
    { resources: options.pageSizes?.resources ?? 100, policyStates: options.pageSizes?.policyStates ?? 1000, activityLog: options.pageSizes?.activityLog ?? 200 },
    options.evaluationDelayMs ?? 2000,
    options.remediationDelayMs ?? 2000,
    options.complianceLag ?? 'live',
  );
  const requests = new RequestCounter();
  const faults = new FaultInjector(options.faults);
  const routes: ArmRoute[] = [...resourceRoutes(state), ...authorizationRoutes(state), ...policySetDefinitionRoutes(state), ...policyInsightsRoutes(state), ...remediationRoutes(state), ...policyMetadataRoutes(state), ...activityLogRoutes(state)];
  let baseUrl = '';
  /** ARM's audiences plus this emulator's own URL (set once it listens). */
  let audiences: readonly string[] = ARM_AUDIENCES;

  const handleArm = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const receivedAt = Date.now();
    const requestId = randomUUID();
    const url = new URL(req.url ?? '/', baseUrl);
    const method = (req.method ?? 'GET').toUpperCase();
    let path: string;
    try {
      path = decodeURIComponent(url.pathname).replace(/\/{2,}/g, '/');
    } catch {
      path = url.pathname;
    }
    const apiVersion = url.searchParams.get('api-version') ?? undefined;
    const subscriptionId = subscriptionOf(path);
    const byPath = routes.filter((r) => r.pattern.test(path));
    const route = byPath.find((r) => (typeof r.method === 'string' ? r.method === method : r.method.includes(method)));
    const routeName = route?.name ?? 'unknown';
    const body = await readBody(req);
    const finish = (result: ArmResult, recordedRoute: string, fault?: 'throttle' | 'error'): void => {
      requests.record({ method, path, route: recordedRoute, apiVersion, subscriptionId, status: result.status, fault, at: receivedAt });
      send(res, result, requestId);
    };

    const auth = req.headers.authorization ?? '';
    const bearer = /^Bearer\s+(.+)$/i.exec(auth)?.[1];
    const check = bearer === undefined ? undefined : await issuer.verify(bearer, audiences);
    if (check?.ok !== true) {
      const result =
        check === undefined
          ? armError(401, 'AuthenticationFailed', "Authentication failed. The 'Authorization' header is missing.")
          : check.reason === 'audience'
            ? armError(
                401,
                'InvalidAuthenticationTokenAudience',
                `The access token has been obtained for wrong audience or resource '${check.audience}'. It should exactly match with one of the allowed audiences ${audiences.map((a) => `'${a}'`).join(',')}.`,
              )
            : armError(401, 'InvalidAuthenticationToken', 'The access token is invalid or has expired.');
      finish(
        { ...result, headers: { 'WWW-Authenticate': `Bearer authorization_uri="https://login.microsoftonline.com/${options.fleet.tenantId}", error="invalid_token", error_description="The authentication failed"` } },
        `unauthenticated:${routeName}`,
      );
      return;
    }
    if (!route) {
      finish(
        byPath.length > 0
          ? armError(405, 'MethodNotAllowed', `The requested method '${method}' is not allowed for '${path}'.`)
          : armError(404, 'InvalidResourceType', `The resource path '${path}' is not served by the ARM emulator.`),
        routeName,
      );
      return;
    }

    const decision = faults.decide({ route: route.name, subscriptionId, method, page: pageIndexOf(url), pageKey: `${method} ${path}?${url.searchParams.get('$skiptoken') ?? ''}` });
    if (decision.delayMs > 0) await sleep(decision.delayMs);
    if (decision.kind === 'throttle') {
      finish(
        {
          ...armError(429, 'TooManyRequests', 'The request is being throttled (emulator fault).'),
          headers: { 'Retry-After': String(decision.retryAfterSeconds) },
        },
        route.name,
        'throttle',
      );
      return;
    }
    if (decision.kind === 'error') {
      finish(armError(decision.status, decision.code, decision.message), route.name, 'error');
      return;
    }
    if (decision.kind === 'refuse') {
      const message = decision.message ?? refusalMessage(decision.code, armActionOf(route.name), path, callerOf(bearer));
      finish(armError(decision.status, decision.code, message), route.name, 'error');
      return;
    }

    if (subscriptionId !== undefined && !state.hasSubscription(subscriptionId)) {
      finish(subscriptionNotFound(subscriptionId), route.name);
      return;
    }
    let parsed: unknown;
    if (body.trim() !== '') {
      try {
        parsed = JSON.parse(body);
      } catch {
        finish(armError(400, 'InvalidRequestContent', 'The request content is not valid JSON.'), route.name);
        return;
      }
    }
    let result: ArmResult;
    try {
      const match = route.pattern.exec(path)!;
      // With a compliance lag, each version of the assignments is timestamped when first seen: a test's
      // direct edit of the fleet before this request, a route's write right after it.
      state.observePolicyInputs();
      result = await route.handle({ method, url, baseUrl, params: match.slice(1).map((p) => p ?? ''), body: parsed, apiVersion });
      state.observePolicyInputs();
    } catch (e) {
      result =
        e instanceof InvalidSkipTokenError
          ? armError(400, 'InvalidSkipToken', 'The $skiptoken is not valid.')
          : armError(500, 'InternalServerError', `ARM emulator error: ${e instanceof Error ? e.message : String(e)}`);
    }
    finish(result, route.name);
  };

  const handleIdentity = identityTokenHandler(issuer, identityHeader, requests);

  const onError = (res: ServerResponse) => (e: unknown) => {
    if (!res.headersSent) res.writeHead(500, { 'content-type': JSON_TYPE }).end(JSON.stringify({ error: { code: 'InternalServerError', message: String(e) } }));
  };
  const mounted: ((req: IncomingMessage, res: ServerResponse) => boolean)[] = [];
  const arm = createHttpsServer({ key: tls.key, cert: tls.cert }, (req, res) => {
    if (mounted.some((handler) => handler(req, res))) return;
    void handleArm(req, res).catch(onError(res));
  });
  const identity = createHttpServer((req, res) => void handleIdentity(req, res).catch(onError(res)));
  const armPort = await listen(arm, options.port ?? 0);
  const identityPort = await listen(identity, options.identityPort ?? 0);
  baseUrl = `https://127.0.0.1:${armPort}`;
  audiences = [...ARM_AUDIENCES, baseUrl, `${baseUrl}/`];
  const caDir = await mkdtemp(join(tmpdir(), 'arm-emulator-'));
  const caCertPath = join(caDir, 'ca.pem');
  await writeFile(caCertPath, tls.cert);
  const identityEndpoint = `http://127.0.0.1:${identityPort}/msi/token`;

  return {
    url: baseUrl,
    caCertPem: tls.cert,
    caCertPath,
    identityEndpoint,
    identityHeader,
    requests,
    faults,
    get fleet() {
      return state.fleet;
    },
    state,
    env: () => ({
      AZURE_RESOURCE_MANAGER_ENDPOINT: baseUrl,
      IDENTITY_ENDPOINT: identityEndpoint,
      IDENTITY_HEADER: identityHeader,
      NODE_EXTRA_CA_CERTS: caCertPath,
    }),
    mount(handler) {
      mounted.push(handler);
    },
    async stop() {
      await Promise.all([close(arm as unknown as Server), close(identity)]);
      await rm(caDir, { recursive: true, force: true });
    },
  };
}
