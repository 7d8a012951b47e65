/** Collection responses `{ value, nextLink }` (Microsoft REST API Guidelines, server-driven paging). */
import type { Page } from '../../application/ports.js';

export interface Collection<T> {
  readonly value: readonly T[];
  readonly nextLink?: string;
}

/** The request URL with `continuationToken` replaced, so the next page keeps every filter and `top`. */
export function nextLinkFor(url: URL, continuationToken: string | undefined): string | undefined {
  if (continuationToken === undefined) return undefined;
  const next = new URL(url.toString());
  next.searchParams.set('continuationToken', continuationToken);
  return next.toString();
}

export function toCollection<T>(page: Page<T>, url: URL): Collection<T> {
  const nextLink = nextLinkFor(url, page.continuationToken);
  return nextLink === undefined ? { value: page.items } : { value: page.items, nextLink };
}
