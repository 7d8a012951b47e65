/**
 * The runtime every `functions/api-*.ts` operation uses: the container's finished services, the JWT
 * authenticator, limits and the logger. Operations load this module on first request, so a process
 * that only runs queue or timer functions never builds it.
 */
import { randomUUID } from 'node:crypto';
import type { ApiRuntime, ApiServices, HealthCheck } from '../adapters/http/api-runtime.js';
import { createJwtAuthenticator, type Authenticator } from '../adapters/http/auth.js';
import { storedRecordsHealthCheck } from '../adapters/storage/records/stored-record-reader.js';
import type { AuditLog, Clock } from '../application/ports.js';
import { consoleLogger, type Logger } from '../application/logger.js';
import { loadConfig } from '../config/settings.js';
import { getContainer, type Container } from './composition-root.js';
import { sharedUntilFailure } from './lazy.js';

export interface ApiRuntimeInput {
  readonly services: ApiServices;
  readonly auth: { readonly issuer: string | undefined; readonly audience: string | undefined; readonly jwksUri: string | undefined };
  readonly maxRequestBodyBytes: number;
  readonly auditLog: AuditLog;
  readonly clock: Clock;
  /** Overrides the JWT authenticator built from `auth` (tests). */
  readonly authenticator?: Authenticator;
  /** Fetch used for OpenID discovery and JWKS (e.g. one trusting the local emulator's certificate). */
  readonly fetch?: typeof fetch;
  /** Request ids. */
  readonly newId?: () => string;
  readonly logger?: Logger;
}

export function createApiRuntime(input: ApiRuntimeInput): ApiRuntime {
  let authenticator = input.authenticator;
  if (authenticator === undefined) {
    const { issuer, audience, jwksUri } = input.auth;
    if (issuer === undefined || audience === undefined) throw new Error('AUTH_ISSUER and AUTH_AUDIENCE are required to serve the API');
    authenticator = createJwtAuthenticator({ issuer, audience, jwksUri, ...(input.fetch !== undefined ? { fetch: input.fetch } : {}) });
  }
  return {
    authenticator,
    auditLog: input.auditLog,
    maxRequestBodyBytes: input.maxRequestBodyBytes,
    clock: input.clock,
    newId: input.newId ?? randomUUID,
    logger: input.logger ?? consoleLogger,
    services: input.services,
  };
}

/** Storage and ARM probes for `GET /api/health`; the ARM answer is cached so probes never amplify into throttling. */
function apiHealthChecks(c: Container): HealthCheck[] {
  let armChecked: { at: number; ok: Promise<void> } | undefined;
  return [
    // A live round trip: the summary read is cached in process and would hide an outage.
    { name: 'storage', check: () => c.storageProbe() },
    storedRecordsHealthCheck(c.storedRecords),
    {
      name: 'azure-resource-manager',
      check: async () => {
        const now = c.clock.now().getTime();
        if (armChecked === undefined || now - armChecked.at > 60_000) armChecked = { at: now, ok: c.inventory.listSubscriptions().then(() => undefined) };
        await armChecked.ok;
        // Anonymous callers see this: say that ARM answered, never which endpoint (a private cloud's URL).
        return { detail: 'reachable' };
      },
    },
  ];
}

/** The API runtime over a container's services. */
export function createApiRuntimeFor(
  c: Container,
  overrides: Partial<Omit<ApiRuntimeInput, 'services'>> & { readonly healthChecks?: readonly HealthCheck[] } = {},
): ApiRuntime {
  const { healthChecks, ...rest } = overrides;
  return createApiRuntime({
    auth: c.config.auth,
    maxRequestBodyBytes: c.config.maxRequestBodyBytes,
    auditLog: c.repositories.audit,
    clock: c.clock,
    services: {
      compliance: c.compliance,
      controlPlane: c.controlPlaneQueries,
      frameworks: c.frameworks,
      exceptions: c.exceptions,
      remediations: c.remediations,
      audit: c.audit,
      evaluations: c.evaluation.starter,
      healthChecks: healthChecks ?? apiHealthChecks(c),
      rollouts: c.rollouts,
      webhooks: c.webhooks,
      changeEvents: c.changeEvents,
      matrix: c.matrix,
      dashboard: { clientId: c.config.dashboardClientId, issuer: c.config.auth.issuer, audience: c.config.auth.audience },
      evidence: c.evidenceReader,
      findings: c.findings,
    },
    ...rest,
  });
}

/**
 * The API runtime built on {@link getContainer}; a failed build is retried on next use. On a cold
 * instance the token issuer's keys are fetched while the container is built, not after it.
 */
export const getApiRuntime: () => Promise<ApiRuntime> = sharedUntilFailure(async () => {
  const { auth } = loadConfig();
  const authenticator = auth.issuer !== undefined && auth.audience !== undefined ? createJwtAuthenticator({ issuer: auth.issuer, audience: auth.audience, jwksUri: auth.jwksUri }) : undefined;
  const keys = authenticator?.prefetchKeys?.();
  const c = await getContainer();
  await keys;
  return createApiRuntimeFor(c, authenticator !== undefined ? { authenticator } : {});
});
