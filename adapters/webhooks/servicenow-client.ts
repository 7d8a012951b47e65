/**
 * ServiceNow REST client: Table API (`/api/now/table/incident`), Event Management
 * (`/api/global/em/jsonv2`), basic or OAuth (`/oauth_token.do`, token cached until shortly before it
 * expires). Every call goes through the guarded HTTP client, so instance URLs obey the SSRF policy.
 *
 * Credentials (basic, bearer token, the OAuth client secret and password) are sent only to the
 * configured instance origin (`SERVICENOW_INSTANCE_URL`). Webhook creation refuses other origins
 * already; the check here, right before each request, also covers webhooks stored before that rule.
 */
import type { Clock, OutboundHttp, OutboundHttpResult } from '../../application/ports.js';
import type { ServiceNowApi } from '../../application/servicenow-delivery.js';
import { encodedQueryValue, isServiceNowInstanceUrl, type EmRecord } from '../../domain/servicenow-mapping.js';
import { OutboundCallFailed, parseRetryAfter } from '../../domain/webhook-retry.js';

export type ServiceNowAuth =
  | { readonly mode: 'basic'; readonly username: string; readonly password: string }
  | {
      readonly mode: 'oauth';
      readonly clientId: string;
      readonly clientSecret: string;
      /** With a user: the password grant; without: client credentials. */
      readonly username?: string | undefined;
      readonly password?: string | undefined;
    };

/** Renew a cached token this long before ServiceNow says it expires. */
const TOKEN_EARLY_RENEWAL_MS = 60_000;

function joinUrl(instanceUrl: string, path: string): string {
  return `${instanceUrl.replace(/\/+$/, '')}${path}`;
}

/** The origin of a URL for messages (never its path, query or credentials). */
function safeOrigin(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return 'the webhook URL';
  }
}

export class ServiceNowClient implements ServiceNowApi {
  private readonly tokens = new Map<string, { token: string; expiresAt: number }>();

  constructor(
    private readonly http: OutboundHttp,
    private readonly auth: ServiceNowAuth,
    private readonly clock: Clock,
    /** The configured instance origin: the only one credentials go to. */
    private readonly instanceOrigin: string,
  ) {}

  /** Refuses (without any request) a URL outside the configured instance. */
  private requireInstance(url: string): void {
    if (!isServiceNowInstanceUrl(url, this.instanceOrigin)) {
      throw new OutboundCallFailed({ kind: 'refused', reason: `${safeOrigin(url)} is not the configured ServiceNow instance (SERVICENOW_INSTANCE_URL); no credentials were sent` });
    }
  }

  private fail(result: OutboundHttpResult): never {
    if (result.kind === 'response') {
      throw new OutboundCallFailed({ kind: 'response', status: result.status, retryAfterSeconds: parseRetryAfter(result.retryAfter, this.clock.now()) }, result.body);
    }
    throw new OutboundCallFailed(result.kind === 'network' ? { kind: 'network', error: result.error } : { kind: 'refused', reason: result.reason });
  }

  private async authorization(instanceUrl: string): Promise<string> {
    if (this.auth.mode === 'basic') return `Basic ${Buffer.from(`${this.auth.username}:${this.auth.password}`, 'utf8').toString('base64')}`;
    const cached = this.tokens.get(instanceUrl);
    const now = this.clock.now().getTime();
    if (cached !== undefined && cached.expiresAt > now) return `Bearer ${cached.token}`;
    const tokenUrl = joinUrl(instanceUrl, '/oauth_token.do');
    this.requireInstance(tokenUrl);
    const form = new URLSearchParams({
      grant_type: this.auth.username !== undefined ? 'password' : 'client_credentials',
      client_id: this.auth.clientId,
      client_secret: this.auth.clientSecret,
      ...(this.auth.username !== undefined ? { username: this.auth.username, password: this.auth.password ?? '' } : {}),
    });
    const result = await this.http.request({
      method: 'POST',
      url: tokenUrl,
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: form.toString(),
    });
    if (result.kind !== 'response' || result.status !== 200) this.fail(result);
    const parsed = this.json(result) as { access_token?: unknown; expires_in?: unknown };
    if (typeof parsed.access_token !== 'string') throw new OutboundCallFailed({ kind: 'network', error: 'the OAuth token response has no access_token' });
    const expiresIn = typeof parsed.expires_in === 'number' ? parsed.expires_in : Number(parsed.expires_in ?? 1800);
    this.tokens.set(instanceUrl, { token: parsed.access_token, expiresAt: now + Math.max(0, expiresIn * 1000 - TOKEN_EARLY_RENEWAL_MS) });
    return `Bearer ${parsed.access_token}`;
  }

  private json(result: Extract<OutboundHttpResult, { kind: 'response' }>): unknown {
    try {
      return JSON.parse(result.body) as unknown;
    } catch {
      throw new OutboundCallFailed({ kind: 'network', error: `ServiceNow answered HTTP ${result.status} with a body that is not JSON` }, result.body);
    }
  }

  private async call(instanceUrl: string, method: 'GET' | 'POST' | 'PATCH', path: string, body?: unknown): Promise<unknown> {
    const url = joinUrl(instanceUrl, path);
    this.requireInstance(url);
    const result = await this.http.request({
      method,
      url,
      headers: {
        authorization: await this.authorization(instanceUrl),
        accept: 'application/json',
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      body: body !== undefined ? JSON.stringify(body) : undefined,
    });
    if (result.kind === 'response' && result.status === 401) this.tokens.delete(instanceUrl);
    if (result.kind !== 'response' || result.status < 200 || result.status >= 300) this.fail(result);
    return result.body === '' ? undefined : this.json(result);
  }

  async findActiveIncident(instanceUrl: string, correlationId: string): Promise<{ sysId: string; number: string } | undefined> {
    const query = new URLSearchParams({
      sysparm_query: `active=true^correlation_id=${encodedQueryValue(correlationId)}^ORDERBYsys_created_on`,
      sysparm_fields: 'sys_id,number,state',
      sysparm_limit: '1',
    });
    const r = (await this.call(instanceUrl, 'GET', `/api/now/table/incident?${query.toString()}`)) as { result?: { sys_id?: unknown; number?: unknown }[] };
    const first = Array.isArray(r?.result) ? r.result[0] : undefined;
    return first !== undefined && typeof first.sys_id === 'string' ? { sysId: first.sys_id, number: String(first.number ?? first.sys_id) } : undefined;
  }

  async createIncident(instanceUrl: string, fields: Readonly<Record<string, string>>): Promise<{ sysId: string; number: string }> {
    const r = (await this.call(instanceUrl, 'POST', '/api/now/table/incident', fields)) as { result?: { sys_id?: unknown; number?: unknown } };
    if (typeof r?.result?.sys_id !== 'string') throw new OutboundCallFailed({ kind: 'network', error: 'ServiceNow returned no sys_id for the new incident' });
    return { sysId: r.result.sys_id, number: String(r.result.number ?? r.result.sys_id) };
  }

  async updateIncident(instanceUrl: string, sysId: string, fields: Readonly<Record<string, string>>): Promise<void> {
    await this.call(instanceUrl, 'PATCH', `/api/now/table/incident/${encodeURIComponent(sysId)}`, fields);
  }

  async sendEvents(instanceUrl: string, records: readonly EmRecord[]): Promise<void> {
    if (records.length === 0) return;
    await this.call(instanceUrl, 'POST', '/api/global/em/jsonv2', { records });
  }
}
