/**
 * Shared plumbing of the emulator's ARM routes: request context, ARM error bodies, paging.
 */
import type { FleetModel } from '../fleet-model.js';

/** Derives latest policy state wire records for one subscription from the fleet and its current assignments. */
export type DerivePolicyStates = (fleet: FleetModel, subscriptionId: string, now: Date) => Record<string, unknown>[];

export interface ArmResult {
  readonly status: number;
  readonly body?: unknown;
  readonly headers?: Readonly<Record<string, string>>;
}

export interface ArmRequestContext {
  readonly method: string;
  readonly url: URL;
  /** Public base URL of the emulator, e.g. `https://127.0.0.1:12345`. */
  readonly baseUrl: string;
  /** Regex capture groups of the route, URI-decoded. */
  readonly params: readonly string[];
  readonly body: unknown;
  readonly apiVersion: string | undefined;
}

export interface ArmRoute {
  readonly name: string;
  readonly method: string | readonly string[];
  /** Matched against the decoded path, case-insensitively (ARM paths are case-insensitive). */
  readonly pattern: RegExp;
  handle(ctx: ArmRequestContext): ArmResult | Promise<ArmResult>;
}

export function armError(status: number, code: string, message: string): ArmResult {
  return { status, body: { error: { code, message } } };
}

export const notFound = (what: string): ArmResult =>
  armError(404, 'ResourceNotFound', `The Resource '${what}' was not found.`);

export const sameId = (a: string, b: string): boolean => a.toLowerCase() === b.toLowerCase();

export const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** `/subscriptions/{id}/...` → id (original casing), if the path is under a subscription. */
export function subscriptionOf(path: string): string | undefined {
  return /^\/subscriptions\/([^/]+)/i.exec(path)?.[1];
}

interface SkipToken {
  /** Offset of the first item of the page. */
  readonly o: number;
  /** Page index (0 = first page). */
  readonly p: number;
  /** Snapshot id for listings computed per query (policy states). */
  readonly s?: string | undefined;
}

export function decodeSkipToken(url: URL): SkipToken | undefined {
  const raw = url.searchParams.get('$skiptoken') ?? url.searchParams.get('$skipToken');
  if (raw === null) return undefined;
  try {
    const parsed: unknown = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8'));
    if (isRecord(parsed) && typeof parsed['o'] === 'number' && typeof parsed['p'] === 'number') {
      return { o: parsed['o'], p: parsed['p'], s: typeof parsed['s'] === 'string' ? parsed['s'] : undefined };
    }
  } catch {
    // fall through: an unreadable token is a client error
  }
  throw new InvalidSkipTokenError();
}

export class InvalidSkipTokenError extends Error {}

/** Page index of a request (0 without `$skiptoken`); never throws. */
export function pageIndexOf(url: URL): number {
  try {
    return decodeSkipToken(url)?.p ?? 0;
  } catch {
    return 0;
  }
}

export interface PageSlice<T> {
  readonly items: T[];
  readonly nextLink: string | undefined;
}

/**
 * Cuts one page out of `all`. The next link repeats the request's own query (api-version, $filter,
 * $select, $expand…) with a new `$skiptoken`, as ARM does, so a client following it changes nothing.
 */
export function slicePage<T>(all: readonly T[], ctx: ArmRequestContext, pageSize: number, snapshot?: string): PageSlice<T> {
  const token = decodeSkipToken(ctx.url);
  const offset = token?.o ?? 0;
  const page = token?.p ?? 0;
  const items = all.slice(offset, offset + pageSize);
  if (offset + pageSize >= all.length) return { items, nextLink: undefined };
  const next = new URL(ctx.url.pathname + ctx.url.search, ctx.baseUrl);
  next.searchParams.delete('$skipToken');
  const nextToken: SkipToken = { o: offset + pageSize, p: page + 1, ...(snapshot !== undefined ? { s: snapshot } : {}) };
  next.searchParams.set('$skiptoken', Buffer.from(JSON.stringify(nextToken)).toString('base64url'));
  return { items, nextLink: next.toString() };
}
