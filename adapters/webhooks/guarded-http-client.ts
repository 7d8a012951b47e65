/**
 * HTTP to webhook receivers and ServiceNow instances under the SSRF policy of
 * `domain/webhook-ssrf.ts`: the host is resolved at every request, every resolved address is vetted,
 * and the socket connects to the vetted address itself (the `lookup` option is pinned to it), so a DNS
 * answer cannot change between the check and the connection. Redirects are never followed; connect
 * and overall timeouts apply; at most `maxResponseBytes` of a response are read.
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import type { OutboundHttp, OutboundHttpRequest, OutboundHttpResult } from '../../application/ports.js';
import { parseIp, vetAddress, vetUrl, type Allowlist } from '../../domain/webhook-ssrf.js';

/** Resolves a host name to its addresses (every family). Tests inject their own. */
export type HostResolver = (host: string) => Promise<string[]>;

export const systemResolver: HostResolver = async (host) => (await dnsLookup(host, { all: true, verbatim: true })).map((a) => a.address);

export interface GuardedHttpOptions {
  readonly allowlist: Allowlist;
  readonly resolve?: HostResolver;
  readonly connectTimeoutMs?: number;
  /** Whole exchange: connect, send, headers and body. */
  readonly responseTimeoutMs?: number;
  readonly maxResponseBytes?: number;
  readonly userAgent?: string;
  /** Extra trusted CA (PEM) for https targets (local stand-ins with self-signed certificates). */
  readonly ca?: string;
}

const DEFAULTS = { connectTimeoutMs: 5_000, responseTimeoutMs: 15_000, maxResponseBytes: 64 * 1024 };

export class GuardedHttpClient implements OutboundHttp {
  private readonly resolve: HostResolver;

  constructor(private readonly options: GuardedHttpOptions) {
    this.resolve = options.resolve ?? systemResolver;
  }

  async vet(url: string): Promise<string | undefined> {
    const r = await this.pin(url);
    return 'reason' in r ? r.reason : undefined;
  }

  /** The vetted target and the one address to connect to, or why it is refused / unresolvable. */
  private async pin(url: string): Promise<{ target: Exclude<ReturnType<typeof vetUrl>, { ok: false }>['value']; address: string; family: 4 | 6 } | { reason: string; network?: boolean }> {
    const vetted = vetUrl(url, this.options.allowlist);
    if (!vetted.ok) return { reason: vetted.reason };
    const target = vetted.value;
    let addresses: string[];
    if (target.literal !== undefined) addresses = [target.host];
    else {
      try {
        addresses = await this.resolve(target.host);
      } catch (error) {
        return { reason: `DNS lookup of ${target.host} failed (${(error as { code?: string }).code ?? 'error'})`, network: true };
      }
    }
    if (addresses.length === 0) return { reason: `${target.host} has no address`, network: true };
    // Every address must pass: a name that also resolves to an internal address is refused outright.
    for (const a of addresses) {
      const check = vetAddress(a, target, this.options.allowlist);
      if (!check.ok) return { reason: check.reason };
    }
    const address = addresses[0] as string;
    return { target, address, family: parseIp(address)?.version ?? 4 };
  }

  async request(request: OutboundHttpRequest): Promise<OutboundHttpResult> {
    const pinned = await this.pin(request.url);
    if ('reason' in pinned) return pinned.network === true ? { kind: 'network', error: pinned.reason } : { kind: 'refused', reason: pinned.reason };
    const { target, address, family } = pinned;
    const lookup: LookupFunction = (_hostname, opts, callback) => {
      if ((opts as { all?: boolean }).all === true) (callback as (e: null, a: { address: string; family: number }[]) => void)(null, [{ address, family }]);
      else callback(null, address, family);
    };
    const isHttps = target.url.protocol === 'https:';
    const body = request.body !== undefined ? Buffer.from(request.body, 'utf8') : undefined;
    const headers: Record<string, string> = {
      'user-agent': this.options.userAgent ?? 'arc-compliance-webhooks/1',
      ...request.headers,
      ...(body !== undefined ? { 'content-length': String(body.length) } : {}),
    };
    const connectTimeoutMs = this.options.connectTimeoutMs ?? DEFAULTS.connectTimeoutMs;
    const responseTimeoutMs = this.options.responseTimeoutMs ?? DEFAULTS.responseTimeoutMs;
    const cap = this.options.maxResponseBytes ?? DEFAULTS.maxResponseBytes;

    return new Promise<OutboundHttpResult>((resolve) => {
      let settled = false;
      const finish = (r: OutboundHttpResult): void => {
        if (settled) return;
        settled = true;
        clearTimeout(overall);
        clearTimeout(connectTimer);
        resolve(r);
      };
      const options: https.RequestOptions = {
        method: request.method,
        protocol: target.url.protocol,
        hostname: target.literal !== undefined ? address : target.host,
        port: target.port,
        path: `${target.url.pathname}${target.url.search}`,
        headers: { host: target.url.host, ...headers },
        agent: false,
        ...(target.literal === undefined ? { lookup } : {}),
        ...(isHttps ? { servername: target.literal === undefined ? target.host : undefined, ...(this.options.ca !== undefined ? { ca: this.options.ca } : {}) } : {}),
      };
      const req = (isHttps ? https : http).request(options, (res) => {
        clearTimeout(connectTimer);
        const chunks: Buffer[] = [];
        let size = 0;
        const done = (): void =>
          finish({
            kind: 'response',
            status: res.statusCode ?? 0,
            retryAfter: typeof res.headers['retry-after'] === 'string' ? res.headers['retry-after'] : undefined,
            contentType: res.headers['content-type'],
            body: Buffer.concat(chunks).toString('utf8'),
          });
        res.on('data', (chunk: Buffer) => {
          if (size >= cap) return;
          const room = cap - size;
          chunks.push(chunk.length > room ? chunk.subarray(0, room) : chunk);
          size += Math.min(chunk.length, room);
          if (size >= cap) {
            // Enough kept; stop reading the rest of a large body.
            done();
            res.destroy();
          }
        });
        res.on('end', done);
        res.on('error', (e) => finish({ kind: 'network', error: `response failed: ${e.message}` }));
        res.on('close', done);
      });
      const overall = setTimeout(() => {
        req.destroy();
        finish({ kind: 'network', error: `no complete response within ${responseTimeoutMs} ms` });
      }, responseTimeoutMs);
      const connectTimer = setTimeout(() => {
        req.destroy();
        finish({ kind: 'network', error: `could not connect within ${connectTimeoutMs} ms` });
      }, connectTimeoutMs);
      req.on('socket', (socket) => {
        socket.once(isHttps ? 'secureConnect' : 'connect', () => clearTimeout(connectTimer));
      });
      req.on('error', (e: NodeJS.ErrnoException) => finish({ kind: 'network', error: `${e.code ?? 'error'}: ${e.message}` }));
      req.end(body);
    });
  }
}
