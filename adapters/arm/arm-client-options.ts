/**
 * How every ARM client of the app is built: endpoint from config (sovereign clouds, Azure Local,
 * the local emulator), an injected `TokenCredential`, the SDK's own retry policy (which honours
 * 429/503 `Retry-After`) and, for the local emulator only, an extra trusted CA.
 */
import type { TokenCredential } from '@azure/identity';
import type { PipelineRetryOptions } from '@azure/core-rest-pipeline';

export interface ArmConnection {
  /** e.g. `https://management.azure.com` (config `AZURE_RESOURCE_MANAGER_ENDPOINT`). */
  readonly endpoint: string;
  readonly credential: TokenCredential;
  /** PEM of an additional trusted CA (the local ARM emulator's self-signed certificate). */
  readonly caCertPem?: string | undefined;
  /** Overrides of the SDK retry policy (tests shorten delays); attempts stay the SDK's. */
  readonly retryOptions?: PipelineRetryOptions | undefined;
}

/** Options understood by both the autorest (`@azure/core-client`) and the modular (`@azure-rest/core-client`) SDK clients. */
export interface SdkClientOptions {
  endpoint: string;
  credentials: { scopes: string[] };
  credentialScopes: string[];
  userAgentOptions: { userAgentPrefix: string };
  tlsOptions?: { ca: string };
  retryOptions?: PipelineRetryOptions;
}

export function sdkClientOptions(connection: ArmConnection): SdkClientOptions {
  const endpoint = connection.endpoint.replace(/\/+$/, '');
  const scopes = [`${endpoint}/.default`];
  return {
    endpoint,
    credentials: { scopes },
    credentialScopes: scopes,
    userAgentOptions: { userAgentPrefix: 'arc-compliance' },
    ...(connection.caCertPem ? { tlsOptions: { ca: connection.caCertPem } } : {}),
    ...(connection.retryOptions ? { retryOptions: connection.retryOptions } : {}),
  };
}
