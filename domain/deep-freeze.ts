/**
 * Freezes a value and everything it holds, so one instance can be shared between callers (cached
 * views): the HTTP layer serializes a frozen body once and reuses the bytes by identity.
 */
export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
