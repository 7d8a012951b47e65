/**
 * Calls to `/api/v1` with the signed-in person's token. A 401 means the session is over (the caller
 * shows sign-in), a 403 names the app role that is missing (the API's `error.target`).
 */
import { SignInRequired, type Session } from './auth.js';

export class MissingRole extends Error {
  constructor(readonly role: string) {
    super(`This needs the app role ${role}.`);
    this.name = 'MissingRole';
  }
}

export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly requestId: string | null,
    readonly details: readonly { readonly code: string; readonly message: string }[] = [],
  ) {
    super(message);
    this.name = 'ApiFailure';
  }
}

interface ErrorBody {
  readonly error?: { readonly code?: string; readonly message?: string; readonly target?: string; readonly details?: { code: string; message: string }[] };
}

let session: Session | undefined;

export function useSession(s: Session): void {
  session = s;
}

export async function api<T>(path: string, init: { readonly method?: string; readonly body?: unknown; readonly headers?: Record<string, string> } = {}): Promise<T> {
  if (session === undefined) throw new SignInRequired('Not signed in.');
  const token = await session.token();
  const headers: Record<string, string> = { authorization: `Bearer ${token}`, accept: 'application/json', ...init.headers };
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(path.startsWith('/') ? path : `/api/v1/${path}`, {
    method: init.method ?? 'GET',
    headers,
    ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
    cache: 'no-store',
  });
  if (res.status === 401) throw new SignInRequired('The API did not accept your session.');
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  let body: unknown;
  try {
    body = text === '' ? undefined : JSON.parse(text);
  } catch {
    body = undefined;
  }
  const target = (body as ErrorBody | undefined)?.error?.target;
  // A 403 names the missing app role in `target`; other refusals (separation of duties) name what was refused.
  if (res.status === 403 && target !== undefined && /^[A-Z][A-Za-z]*\.[A-Z][A-Za-z]*$/.test(target)) throw new MissingRole(target);
  if (!res.ok) {
    const e = (body as ErrorBody | undefined)?.error;
    throw new ApiFailure(res.status, e?.code ?? `HTTP ${res.status}`, e?.message ?? res.statusText, res.headers.get('x-request-id'), e?.details ?? []);
  }
  return body as T;
}

/** Follows `nextLink` until the end or `max` items. */
export async function apiAll<T>(path: string, max = 10_000): Promise<{ readonly items: T[]; readonly complete: boolean }> {
  const items: T[] = [];
  let next: string | undefined = path;
  while (next !== undefined && items.length < max) {
    const page: { value: T[]; nextLink?: string } = await api(next);
    items.push(...page.value);
    next = page.nextLink === undefined ? undefined : new URL(page.nextLink).pathname + new URL(page.nextLink).search;
  }
  return { items, complete: next === undefined };
}

export function hasRole(role: string): boolean {
  return session?.roles().includes(role) ?? false;
}
