/**
 * Serves every `functions/api-*.ts` operation from a node:http server on an ephemeral port, with
 * in-memory ports and the real JWT authenticator pointed at a local token issuer (also on an ephemeral
 * port): the same `Operation.handle` pipeline the Functions adapter calls, with ports the tests can
 * inspect and break. `test/e2e/api-*.test.ts` run the shared suites against the local Functions runtime.
 */
import { InMemoryControlPlaneEventRepository } from './in-memory-control-plane.js';
import { readdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes, randomUUID } from 'node:crypto';
import type { ApiRuntime, HealthCheck } from '../../adapters/http/api-runtime.js';
import { queuedRun } from '../../application/evaluation-run.js';
import { resolveRunScope } from '../../domain/evaluation-scope.js';
import { createApiRuntime } from '../../bootstrap/api-runtime.js';
import { AuditService } from '../../application/audit-service.js';
import { ComplianceQueryService, toEvaluationView } from '../../application/compliance-query-service.js';
import { ControlMatrixService } from '../../application/control-matrix-service.js';
import { ControlPlaneQueryService } from '../../application/control-plane-query-service.js';
import { EvidenceReader } from '../../application/evidence-reader.js';
import { ExceptionService } from '../../application/exception-service.js';
import { FindingsExporter } from '../../application/findings-export.js';
import { FrameworkReportService, RequirementTitles, type PolicyMetadataSource } from '../../application/framework-report-service.js';
import { RemediationService } from '../../application/remediation-service.js';
import { ChangeEventReceiver } from '../../application/servicenow-change-events.js';
import { createNodeRequestListener } from '../../adapters/http/node-http.js';
import type { Operation } from '../../adapters/http/operation.js';
import type { RemediationCheckMessage, WebhookDeadLetterMessage, WebhookDeliveryMessage } from '../../application/messages.js';
import { REMEDIATION_CHECK_MAX_DELAY_SECONDS } from '../../domain/remediation-check-schedule.js';
import { RolloutService } from '../../application/rollout-service.js';
import { WebhookService } from '../../application/webhook-service.js';
import type { RolloutStepMessage } from '../../domain/rollout-model.js';
import { createTokenIssuer, type MintOptions, type TokenIssuer } from '../../local/token-issuer.js';
import {
  FakeHostResolver,
  FakeRemediationStarter,
  FixedClock,
  InMemoryAuditLog,
  InMemoryClusterStateRepository,
  InMemoryExceptionRepository,
  InMemoryHistoryRepository,
  InMemoryInboundMessageIdStore,
  InMemoryPolicyAssignmentGateway,
  InMemoryRemediationRepository,
  InMemoryRolloutRepository,
  InMemoryRunRepository,
  InMemorySecretProtector,
  InMemorySummaryRepository,
  InMemoryWebhookDeliveryRepository,
  InMemoryWebhookSubscriptionRepository,
  RecordingMessageQueue,
  RecordingOutboundHttp,
} from './in-memory-ports.js';
import { InMemoryEvidenceStore } from './in-memory-evidence-store.js';
import { silentLogger } from '../../application/logger.js';

/**
 * What the harness's fake DNS answers: a public address, so a webhook to `https://hooks.example.com/…`
 * passes the real SSRF policy (no network: `RecordingOutboundHttp` never connects).
 */
export const HARNESS_WEBHOOK_HOSTS: Readonly<Record<string, readonly string[]>> = { 'hooks.example.com': ['93.184.215.14'] };

/** Every HTTP function file: `functions/api-*.ts`. */
const FUNCTION_MODULES = readdirSync(new URL('../../functions/', import.meta.url))
  .filter((f) => /^api-[\w-]+\.ts$/.test(f))
  .sort()
  .map((f) => `../../functions/${f.replace(/\.ts$/, '.js')}`);

function isOperation(value: unknown): value is Operation {
  return typeof value === 'object' && value !== null && typeof (value as Operation).handle === 'function' && typeof (value as Operation).operationId === 'string';
}

/** Every operation exported by the `functions/api-*.ts` files. */
export async function loadApiOperations(): Promise<Operation[]> {
  const ops: Operation[] = [];
  for (const m of FUNCTION_MODULES) {
    const mod = (await import(m)) as Record<string, unknown>;
    ops.push(...Object.values(mod).filter(isOperation));
  }
  return ops;
}

export interface Ports {
  readonly clusters: InMemoryClusterStateRepository;
  readonly controlPlaneEvents: InMemoryControlPlaneEventRepository;
  readonly history: InMemoryHistoryRepository;
  readonly summaries: InMemorySummaryRepository;
  readonly runs: InMemoryRunRepository;
  readonly exceptions: InMemoryExceptionRepository;
  readonly auditLog: InMemoryAuditLog;
  readonly remediations: InMemoryRemediationRepository;
  readonly remediationStarter: FakeRemediationStarter;
  /** Completion checks the remediation service schedules (recorded; nothing delivers them in the harness). */
  readonly remediationChecks: RecordingMessageQueue<RemediationCheckMessage>;
  /** The real `RolloutService` runs over these: assignments and policy states tests seed, recorded step messages. */
  readonly rolloutRepository: InMemoryRolloutRepository;
  readonly policyAssignments: InMemoryPolicyAssignmentGateway;
  readonly rolloutSteps: RecordingMessageQueue<RolloutStepMessage>;
  /** The real `WebhookService` runs over these: subscriptions, deliveries, recorded delivery messages, no network. */
  readonly webhookSubscriptions: InMemoryWebhookSubscriptionRepository;
  readonly webhookDeliveries: InMemoryWebhookDeliveryRepository;
  readonly webhookQueue: RecordingMessageQueue<WebhookDeliveryMessage>;
  readonly webhookDeadLetters: RecordingMessageQueue<WebhookDeadLetterMessage>;
  readonly webhookAttemptClaims: InMemoryInboundMessageIdStore;
  readonly webhookSecrets: InMemorySecretProtector;
  readonly webhookResolver: FakeHostResolver;
  readonly webhookHttp: RecordingOutboundHttp;
  readonly evidenceStore: InMemoryEvidenceStore;
  readonly clock: FixedClock;
}

export interface ApiRequestInit {
  readonly token?: string | undefined;
  readonly body?: unknown;
  readonly rawBody?: string | undefined;
  readonly headers?: Record<string, string> | undefined;
}

/** What the shared API suites need: a server origin (paths start with `/api`) and an issuer to mint tokens. */
export interface ApiClient {
  readonly url: string;
  readonly issuer: TokenIssuer;
  token(roles: readonly string[], extra?: MintOptions): Promise<string>;
  request(method: string, path: string, init?: ApiRequestInit): Promise<Response>;
}

/** A client for any server that serves the API under `${origin}/api` and trusts `issuer`. */
export function createApiClient(origin: string, issuer: TokenIssuer): ApiClient {
  return {
    url: origin,
    issuer,
    token: (roles, extra = {}) => issuer.mintToken({ roles, ...extra }),
    request(method, path, init = {}) {
      const headers: Record<string, string> = { ...(init.headers ?? {}) };
      if (init.token !== undefined) headers['authorization'] = `Bearer ${init.token}`;
      let body: string | undefined = init.rawBody;
      if (init.body !== undefined) {
        body = JSON.stringify(init.body);
        headers['content-type'] ??= 'application/json';
      }
      return fetch(`${origin}${path}`, { method, headers, ...(body !== undefined ? { body } : {}) });
    },
  };
}

export interface ApiHarness extends ApiClient {
  readonly ports: Ports;
  readonly runtime: ApiRuntime;
  readonly errors: { message: string; properties: Readonly<Record<string, unknown>> }[];
  stop(): Promise<void>;
}

function listen(server: Server): Promise<string> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)));
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
}

/** The subscriptions the harness's evaluation starter accepts (those of `api-fixtures`). */
export const HARNESS_SUBSCRIPTIONS: readonly string[] = ['00000000-0000-0000-0000-00000000000a', '00000000-0000-0000-0000-00000000000b'];

export interface ApiHarnessOptions {
  readonly healthChecks?: HealthCheck[];
  readonly maxRequestBodyBytes?: number;
  readonly remediationStarter?: FakeRemediationStarter;
  /**
   * Where the API looks for signing keys, instead of the harness's issuer: `issuer` (OpenID discovery
   * from there) and/or `jwksUri` (AUTH_JWKS_URI). Tokens are still minted by the harness's issuer.
   */
  readonly auth?: { readonly issuer?: string; readonly jwksUri?: string };
  /** Requirement titles for framework reports (none by default). */
  readonly policyMetadata?: PolicyMetadataSource;
}

export async function startApiHarness(options: ApiHarnessOptions = {}): Promise<ApiHarness> {
  let issuer: TokenIssuer | undefined;
  const issuerServer = createServer((req, res) => {
    if (issuer === undefined || !issuer.handle(req, res)) {
      res.writeHead(404);
      res.end();
    }
  });
  const issuerUrl = await listen(issuerServer);
  issuer = await createTokenIssuer({ baseUrl: issuerUrl });
  const tokenIssuer = issuer;

  const webhookResolver = new FakeHostResolver(HARNESS_WEBHOOK_HOSTS);
  const ports: Ports = {
    clusters: new InMemoryClusterStateRepository(),
    history: new InMemoryHistoryRepository(),
    summaries: new InMemorySummaryRepository(),
    runs: new InMemoryRunRepository(),
    exceptions: new InMemoryExceptionRepository(),
    auditLog: new InMemoryAuditLog(),
    remediations: new InMemoryRemediationRepository(),
    remediationStarter: options.remediationStarter ?? new FakeRemediationStarter(),
    remediationChecks: new RecordingMessageQueue<RemediationCheckMessage>(),
    rolloutRepository: new InMemoryRolloutRepository(),
    policyAssignments: new InMemoryPolicyAssignmentGateway(),
    rolloutSteps: new RecordingMessageQueue<RolloutStepMessage>(),
    webhookSubscriptions: new InMemoryWebhookSubscriptionRepository(),
    webhookDeliveries: new InMemoryWebhookDeliveryRepository(),
    webhookQueue: new RecordingMessageQueue<WebhookDeliveryMessage>(),
    webhookDeadLetters: new RecordingMessageQueue<WebhookDeadLetterMessage>(),
    webhookAttemptClaims: new InMemoryInboundMessageIdStore(),
    webhookSecrets: new InMemorySecretProtector(),
    webhookResolver,
    webhookHttp: new RecordingOutboundHttp(webhookResolver),
    controlPlaneEvents: new InMemoryControlPlaneEventRepository(),
    evidenceStore: new InMemoryEvidenceStore(),
    clock: new FixedClock(new Date()),
  };
  const errors: ApiHarness['errors'] = [];
  const webhooks = new WebhookService({
    subscriptions: ports.webhookSubscriptions,
    deliveries: ports.webhookDeliveries,
    queue: ports.webhookQueue,
    deadLetters: ports.webhookDeadLetters,
    secrets: ports.webhookSecrets,
    http: ports.webhookHttp,
    serviceNow: undefined,
    clock: ports.clock,
    newId: () => `wh-${randomUUID()}`,
    randomBytes: (size) => randomBytes(size),
    random: () => 0.5,
    log: silentLogger,
    attemptClaims: ports.webhookAttemptClaims,
  });
  const rollouts = new RolloutService({
    repository: ports.rolloutRepository,
    assignments: ports.policyAssignments,
    clusters: ports.clusters,
    queue: ports.rolloutSteps,
    clock: ports.clock,
    newId: () => `ro-${randomUUID()}`,
    settings: { gateRecheckSeconds: 900, verifyTimeoutSeconds: 3600 },
    // As in production: rollout events go out through the webhook service.
    events: webhooks,
  });
  const harnessEvidence = new EvidenceReader({ store: ports.evidenceStore, runs: ports.runs, retentionDays: 400 });
  const runtime = createApiRuntime({
    auth: { issuer: options.auth?.issuer ?? tokenIssuer.issuer, audience: tokenIssuer.audience, jwksUri: options.auth?.jwksUri },
    maxRequestBodyBytes: options.maxRequestBodyBytes ?? 65_536,
    auditLog: ports.auditLog,
    clock: ports.clock,
    services: {
      compliance: new ComplianceQueryService(ports),
      matrix: new ControlMatrixService({ clusters: ports.clusters, summaries: ports.summaries }),
      dashboard: { clientId: undefined, issuer: options.auth?.issuer ?? tokenIssuer.issuer, audience: tokenIssuer.audience },
      controlPlane: new ControlPlaneQueryService({ events: ports.controlPlaneEvents, clusters: ports.clusters, summaries: ports.summaries }),
      frameworks: new FrameworkReportService({
        clusters: ports.clusters,
        summaries: ports.summaries,
        titles: new RequirementTitles(options.policyMetadata, () => ports.clock.now().getTime(), silentLogger),
      }),
      exceptions: new ExceptionService(ports.exceptions, randomUUID),
      // As in the app: the webhook service is what remediation events are published through.
      remediations: new RemediationService({
        starter: ports.remediationStarter,
        remediations: ports.remediations,
        clusters: ports.clusters,
        newId: randomUUID,
        events: webhooks,
        clock: ports.clock,
        // The app's defaults (60 s first check, 48 h limit).
        checks: { queue: ports.remediationChecks, policy: { firstDelaySeconds: 60, maxDelaySeconds: REMEDIATION_CHECK_MAX_DELAY_SECONDS, maxAgeSeconds: 48 * 3600 } },
      }),
      audit: new AuditService(ports.auditLog),
      evaluations: {
        async startOnDemand({ requestedBy, subscriptionIds }) {
          // The subscriptions the harness's fleet (api-fixtures) lives in are the ones "visible".
          const scope = subscriptionIds === undefined ? undefined : resolveRunScope(subscriptionIds, HARNESS_SUBSCRIPTIONS);
          const opened = queuedRun(randomUUID(), 'on-demand', requestedBy, ports.clock.now().toISOString());
          const run = scope === undefined ? opened : { ...opened, scope: 'partial-estate' as const, scopeSubscriptionIds: scope };
          await ports.runs.create(run);
          return toEvaluationView(run);
        },
      },
      healthChecks: options.healthChecks ?? [],
      rollouts,
      webhooks,
      // No ServiceNow secret: every change event is refused (the e2e suites sign real ones).
      changeEvents: new ChangeEventReceiver({ secrets: [], ids: ports.webhookAttemptClaims, approvals: rollouts, clock: ports.clock }),
      evidence: harnessEvidence,
      findings: new FindingsExporter({ reader: harnessEvidence, store: ports.evidenceStore, product: { name: 'arc-compliance', vendorName: 'arc-compliance', version: 'test' } }),
    },
    logger: { ...silentLogger, error: (message, properties) => errors.push({ message, properties: properties ?? {} }) },
  });

  const operations = await loadApiOperations();
  const apiServer = createServer(createNodeRequestListener(operations, () => runtime));
  const url = await listen(apiServer);

  return {
    ...createApiClient(url, tokenIssuer),
    ports,
    runtime,
    errors,
    async stop() {
      await close(apiServer);
      await close(issuerServer);
    },
  };
}
