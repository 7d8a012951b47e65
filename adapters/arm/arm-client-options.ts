/**
 * How every ARM client of the app is built: endpoint from config (sovereign clouds, Azure Local,
 * the local emulator), an injected `TokenCredential`, the SDK's own retry policy (which honours
 * 429/503 `Retry-After`), an optional per-request timeout and, for the local emulator only, an extra
 * trusted CA.
 */
import type { TokenCredential } from '@azure/identity';
import type { PipelinePolicy, PipelineRetryOptions } from '@azure/core-rest-pipeline';

export interface ArmConnection {
  /** e.g. `https://management.azure.com` (config `AZURE_RESOURCE_MANAGER_ENDPOINT`). */
  readonly endpoint: string;
  readonly credential: TokenCredential;
  /** PEM of an additional trusted CA (the local ARM emulator's self-signed certificate). */
  readonly caCertPem?: string | undefined;
  /** Overrides of the SDK retry policy (tests shorten delays); attempts stay the SDK's. */
  readonly retryOptions?: PipelineRetryOptions | undefined;
  /**
   * Longest one HTTP attempt (request and whole response body) may take, in ms; unset = no limit.
   * A timed-out attempt fails with `AbortError`, which the SDK does not retry.
   */
  readonly requestTimeoutMs?: number | undefined;
}

/** Options understood by both the autorest (`@azure/core-client`) and the modular (`@azure-rest/core-client`) SDK clients. */
export interface SdkClientOptions {
  endpoint: string;
  credentials: { scopes: string[] };
  credentialScopes: string[];
  userAgentOptions: { userAgentPrefix: string };
  tlsOptions?: { ca: string };
  retryOptions?: PipelineRetryOptions;
  /** Both clients' `AdditionalPolicyConfig`. */
  additionalPolicies?: { policy: PipelinePolicy; position: 'perCall' | 'perRetry' }[];
}

export const REQUEST_TIMEOUT_POLICY_NAME = 'armRequestTimeout';

/**
 * Sets `request.timeout` on every request that has none. The Node HTTP client arms the timer per
 * attempt (it covers the response body too), so each SDK retry gets the full budget.
 */
export function requestTimeoutPolicy(timeoutMs: number): PipelinePolicy {
  return {
    name: REQUEST_TIMEOUT_POLICY_NAME,
    sendRequest: (request, next) => {
      if (!(request.timeout > 0)) request.timeout = timeoutMs;
      return next(request);
    },
  };
}

export function sdkClientOptions(connection: ArmConnection): SdkClientOptions {
  const endpoint = connection.endpoint.replace(/\/+$/, '');
  const scopes = [`${endpoint}/.default`];
  const timeout = connection.requestTimeoutMs;
  return {
    endpoint,
    credentials: { scopes },
    credentialScopes: scopes,
    userAgentOptions: { userAgentPrefix: 'arc-compliance' },
    ...(connection.caCertPem ? { tlsOptions: { ca: connection.caCertPem } } : {}),
    ...(connection.retryOptions ? { retryOptions: connection.retryOptions } : {}),
    ...(timeout !== undefined && timeout > 0 ? { additionalPolicies: [{ policy: requestTimeoutPolicy(timeout), position: 'perCall' as const }] } : {}),
  };
}
