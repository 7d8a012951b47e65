/**
 * Matches a method and path against the operations' OpenAPI paths. The Functions host routes requests
 * itself; this router serves the same operations from a plain `node:http` server (tests, benchmarks)
 * and answers, for the host's catch-all function, what the host could not route (`unmatched-route.ts`).
 */
import type { Operation } from './operation.js';

export interface RouteMatch {
  readonly operation: Operation;
  readonly params: Record<string, string>;
}

export interface Router {
  /** `undefined` when no path matches; `'method-not-allowed'` when the path matches another method. */
  match(method: string, pathname: string): RouteMatch | 'method-not-allowed' | undefined;
  /** The methods served on a path (upper case, sorted); empty when no operation has that path. */
  allowedMethods(pathname: string): string[];
}

export function createRouter(operations: readonly Operation[]): Router {
  const routes = operations.map((operation) => {
    const names: string[] = [];
    const source = operation.path
      .split('/')
      .map((segment) => {
        const m = /^\{(\w+)\}$/.exec(segment);
        if (m === null || m[1] === undefined) return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
        names.push(m[1]);
        return '([^/]+)';
      })
      .join('/');
    return { operation, names, regex: new RegExp(`^${source}/?$`) };
  });
  return {
    match(method, pathname) {
      let pathMatched = false;
      for (const r of routes) {
        const m = r.regex.exec(pathname);
        if (m === null) continue;
        pathMatched = true;
        if (r.operation.method !== method.toUpperCase()) continue;
        const params: Record<string, string> = {};
        try {
          r.names.forEach((name, i) => {
            params[name] = decodeURIComponent(m[i + 1] ?? '');
          });
        } catch {
          return undefined;
        }
        return { operation: r.operation, params };
      }
      return pathMatched ? 'method-not-allowed' : undefined;
    },
    allowedMethods(pathname) {
      const methods = new Set<string>();
      for (const r of routes) if (r.regex.test(pathname)) methods.add(r.operation.method);
      return [...methods].sort();
    },
  };
}
