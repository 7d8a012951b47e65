/**
 * Lazy composition: a port whose implementation (and the SDK behind it) is imported and built on its
 * first call. The API path never calls the ARM SDKs, the webhook stack or the Storage queues, so in the
 * bundled deployment package their code is neither loaded nor compiled when an instance starts cold for
 * an API request.
 */
import type { AccessToken, GetTokenOptions, TokenCredential } from '@azure/core-auth';
import type { EvidenceStore } from '../application/evidence-ports.js';

/**
 * `load`, run by the first call and its promise shared by every later one; a failed load is forgotten,
 * so the next call tries again (a dependency down at the first request must not fail the instance for
 * good). A synchronous throw of `load` is a rejection too.
 */
export function sharedUntilFailure<T>(load: () => Promise<T>): () => Promise<T> {
  let loaded: Promise<T> | undefined;
  return () => {
    loaded ??= Promise.resolve()
      .then(load)
      .catch((error: unknown) => {
        loaded = undefined;
        throw error;
      });
    return loaded;
  };
}

/**
 * `T` built by `load` on the first method call; every later call reuses it. A failed load is retried
 * on the next call. Only for ports whose methods all return promises (the call has to wait for the
 * load): property reads other than methods are not supported, and the object is never a thenable.
 */
export function lazyPort<T extends object>(load: () => Promise<T>): T {
  const target = sharedUntilFailure(load);
  const methods = new Map<PropertyKey, (...args: unknown[]) => Promise<unknown>>();
  return new Proxy({} as T, {
    get(_, name) {
      // Never a thenable (awaiting the proxy must not call `then`), and no symbol-keyed members.
      if (name === 'then' || typeof name === 'symbol') return undefined;
      let method = methods.get(name);
      if (method === undefined) {
        method = async (...args: unknown[]) => {
          const t = (await target()) as Record<PropertyKey, unknown>;
          const fn = t[name];
          if (typeof fn !== 'function') throw new TypeError(`${String(name)} is not a method of the lazily built port`);
          return (fn as (...a: unknown[]) => unknown).apply(t, args);
        };
        methods.set(name, method);
      }
      return method;
    },
  });
}

/** A credential that imports and builds the real one (e.g. `DefaultAzureCredential`) on the first token request. */
export function lazyCredential(load: () => Promise<TokenCredential>): TokenCredential {
  const port = lazyPort(load);
  return { getToken: (scopes: string | string[], options?: GetTokenOptions): Promise<AccessToken | null> => port.getToken(scopes, options) };
}

/**
 * An evidence store built on first use: like {@link lazyPort}, but `list` returns an async iterable,
 * not a promise, so it cannot go through the proxy.
 */
export function lazyEvidenceStore(load: () => Promise<EvidenceStore>): EvidenceStore {
  const target = sharedUntilFailure(load);
  return {
    createIfAbsent: async (name, bytes, options) => (await target()).createIfAbsent(name, bytes, options),
    openRead: async (name) => (await target()).openRead(name),
    withChainLock: async (work) => (await target()).withChainLock(work),
    list: async function* list(prefix) {
      yield* (await target()).list(prefix);
    },
  };
}
