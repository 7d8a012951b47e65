/**
 * Reading a cluster's deployment environment from its `environment` tag.
 *
 * Azure compares tag names and tag values case-insensitively, so `Environment=PROD` and
 * `environment=prod` mean the same thing here. Only `dev`, `test` and `prod` are recognised: the
 * guidance asks for development, test and production to be separated, and a fixed vocabulary is what
 * makes that separation checkable (see control ARC-AC-04).
 */

export type EnvironmentName = 'dev' | 'test' | 'prod';

/** The tag name, compared case-insensitively. */
export const ENVIRONMENT_TAG = 'environment';

const ENVIRONMENTS: readonly EnvironmentName[] = ['dev', 'test', 'prod'];

/**
 * The raw value of the `environment` tag (tag name matched case-insensitively), or `undefined` when
 * the cluster has no such tag. When several keys differ only by case (impossible in ARM, possible in
 * hand-made data) the first in code-point order wins so the result is deterministic.
 */
export function environmentTagValue(tags: Readonly<Record<string, string>>): string | undefined {
  const keys = Object.keys(tags)
    .filter((k) => k.toLowerCase() === ENVIRONMENT_TAG)
    .sort();
  const key = keys[0];
  return key === undefined ? undefined : tags[key];
}

/**
 * The recognised environment of a cluster: `dev`, `test` or `prod` (value compared
 * case-insensitively, not trimmed), or `undefined` when the tag is missing or holds anything else.
 */
export function environmentOf(tags: Readonly<Record<string, string>>): EnvironmentName | undefined {
  const value = environmentTagValue(tags);
  if (value === undefined) return undefined;
  const lower = value.toLowerCase();
  return ENVIRONMENTS.find((e) => e === lower);
}
