/**
 * Which part of the estate an evaluation run covers. A run of every subscription the app evaluates is
 * `full-estate`; an on-demand run limited to some of them (for example right after a remediation) is
 * `partial-estate` and leaves the other subscriptions' clusters as they were.
 */
import { InvalidRequestError } from './errors.js';

export type RunScope = 'full-estate' | 'partial-estate';

/**
 * The subscriptions a scoped run evaluates: the requested ids, lower-cased, de-duplicated and sorted,
 * each of which must be among `visible` (what the app evaluates: configured, or enabled and seen by its
 * identity). Unknown ids are refused, every one named, so a typo never silently narrows a run.
 *
 * @param requested - ids as the caller sent them (any case).
 * @param visible - the subscriptions a full run would evaluate.
 * @throws InvalidRequestError when `requested` is empty or names a subscription not in `visible`.
 */
export function resolveRunScope(requested: readonly string[], visible: readonly string[]): string[] {
  if (requested.length === 0) throw new InvalidRequestError('subscriptionIds must name at least one subscription.', 'subscriptionIds');
  const known = new Set(visible.map((s) => s.toLowerCase()));
  const unknown: { id: string; index: number }[] = [];
  requested.forEach((id, index) => {
    if (!known.has(id.toLowerCase())) unknown.push({ id, index });
  });
  if (unknown.length > 0) {
    throw new InvalidRequestError(
      `Unknown subscription${unknown.length > 1 ? 's' : ''} (not evaluated by this app, or not visible to its identity): ${unknown.map((u) => u.id).join(', ')}.`,
      'subscriptionIds',
      unknown.map((u) => ({ code: 'UnknownSubscription', message: `subscription ${u.id} is not evaluated by this app`, target: `subscriptionIds[${u.index}]` })),
    );
  }
  return [...new Set(requested.map((s) => s.toLowerCase()))].sort();
}
