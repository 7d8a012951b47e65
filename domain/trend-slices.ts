/**
 * Trend slices: per run, the fleet's clusters grouped by subscription, environment, location and tags,
 * each group with its cluster count, noncompliant count, score sum and failing clusters per control.
 * Stored once per run at finalize, they give a filtered trend (environment, subscription, location,
 * tag, in any combination) from one small record per run instead of every matching cluster's history.
 *
 * A group's figures are the clusters' results in that run, grouped by what the clusters were then (a
 * cluster that moved environment counts where it was), so a filtered trend shows the past as it was.
 *
 * Tag keys with more than {@link MAX_TAG_VALUES} distinct values in a run (a per-cluster name or site
 * id) would make every cluster its own group: they are left out of that run's groups and listed in
 * `tagKeysLeftOut`, and a filter on such a key is refused rather than answered wrongly.
 */
import type { ControlStatus } from './model.js';

/** Most distinct values a tag key may have in one run to be kept in its groups. */
export const MAX_TAG_VALUES = 100;

/** What a cluster is, for grouping: from its stored state. */
export interface TrendDimensions {
  readonly environment: string | null;
  readonly location: string;
  readonly tags: Readonly<Record<string, string>>;
}

export interface TrendGroup {
  /** Lower-cased. */
  readonly subscriptionId: string;
  /** Lower-cased environment tag value; null when untagged. */
  readonly environment: string | null;
  /** Lower-cased. */
  readonly location: string;
  /** Kept tags: lower-cased key → value as tagged. */
  readonly tags: Readonly<Record<string, string>>;
  readonly clusters: number;
  readonly noncompliant: number;
  readonly scoreSum: number;
  /** Failing clusters per control id (controls no cluster of the group fails are absent). */
  readonly failingByControl: Readonly<Record<string, number>>;
}

export interface TrendSlices {
  readonly runId: string;
  readonly generatedAt: string;
  readonly groups: readonly TrendGroup[];
  /** Lower-cased tag keys left out of the groups (too many distinct values). */
  readonly tagKeysLeftOut: readonly string[];
}

export interface TrendFilters {
  readonly environment?: string | undefined;
  readonly subscriptionId?: string | undefined;
  readonly location?: string | undefined;
  /** `key=value` (key case-insensitive, value exact) or `key` (the tag is present). */
  readonly tag?: string | undefined;
}

/** One run's figures over the clusters that match a filter (the shape of an unfiltered trend point). */
export interface FilteredTrendPoint {
  readonly runId: string;
  readonly generatedAt: string;
  readonly averageScore: number;
  readonly clusters: number;
  readonly noncompliant: number;
  /** Failing-cluster count per control id. */
  readonly failingByControl: Readonly<Record<string, number>>;
}

interface SliceCluster {
  readonly subscriptionId: string;
  readonly dimensions: TrendDimensions;
  readonly evaluation: { readonly score: number; readonly controls: readonly { readonly controlId: string; readonly status: ControlStatus }[] };
}

interface MutableGroup {
  readonly subscriptionId: string;
  readonly environment: string | null;
  readonly location: string;
  readonly tags: Record<string, string>;
  clusters: number;
  noncompliant: number;
  scoreSum: number;
  readonly failingByControl: Record<string, number>;
}

const lowerTags = (tags: Readonly<Record<string, string>>): Record<string, string> => {
  const out: Record<string, string> = {};
  // Azure tag names are case-insensitive; the first spelling wins, as ARM keeps one.
  for (const [k, v] of Object.entries(tags)) if (!(k.toLowerCase() in out)) out[k.toLowerCase()] = v;
  return out;
};

const groupKey = (g: Pick<TrendGroup, 'subscriptionId' | 'environment' | 'location' | 'tags'>): string =>
  JSON.stringify([g.subscriptionId, g.environment, g.location, Object.entries(g.tags).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))]);

/**
 * Folds clusters one at a time (finalize reads the fleet page by page). Memory grows with the distinct
 * groups before tag keys are dropped, at most one per cluster, each a few hundred bytes.
 */
export class TrendSliceBuilder {
  private readonly groups = new Map<string, MutableGroup>();
  private readonly tagValues = new Map<string, Set<string>>();

  add(cluster: SliceCluster): void {
    const tags = lowerTags(cluster.dimensions.tags);
    for (const [k, v] of Object.entries(tags)) {
      const values = this.tagValues.get(k) ?? new Set<string>();
      if (values.size <= MAX_TAG_VALUES) values.add(v);
      this.tagValues.set(k, values);
    }
    const failing = cluster.evaluation.controls.filter((r) => r.status === 'fail').map((r) => r.controlId);
    merge(this.groups, {
      subscriptionId: cluster.subscriptionId.toLowerCase(),
      environment: cluster.dimensions.environment === null ? null : cluster.dimensions.environment.toLowerCase(),
      location: cluster.dimensions.location.toLowerCase(),
      tags,
      clusters: 1,
      noncompliant: failing.length > 0 ? 1 : 0,
      scoreSum: cluster.evaluation.score,
      failingByControl: Object.fromEntries(failing.map((id) => [id, 1])),
    });
  }

  build(runId: string, generatedAt: string): TrendSlices {
    const leftOut = [...this.tagValues].filter(([, values]) => values.size > MAX_TAG_VALUES).map(([k]) => k).sort();
    const drop = new Set(leftOut);
    const groups = new Map<string, MutableGroup>();
    for (const g of this.groups.values()) {
      merge(groups, { ...g, tags: Object.fromEntries(Object.entries(g.tags).filter(([k]) => !drop.has(k))), failingByControl: { ...g.failingByControl } });
    }
    return { runId, generatedAt, groups: [...groups.values()], tagKeysLeftOut: leftOut };
  }
}

function merge(into: Map<string, MutableGroup>, g: MutableGroup): void {
  const key = groupKey(g);
  const existing = into.get(key);
  if (existing === undefined) {
    into.set(key, { ...g, tags: { ...g.tags }, failingByControl: { ...g.failingByControl } });
    return;
  }
  existing.clusters += g.clusters;
  existing.noncompliant += g.noncompliant;
  existing.scoreSum += g.scoreSum;
  for (const [id, n] of Object.entries(g.failingByControl)) existing.failingByControl[id] = (existing.failingByControl[id] ?? 0) + n;
}

/** The tag filter's key (lower-cased) and value (undefined: the tag is present with any value). */
export function parseTagFilter(tag: string): { readonly key: string; readonly value: string | undefined } {
  const i = tag.indexOf('=');
  return i < 0 ? { key: tag.trim().toLowerCase(), value: undefined } : { key: tag.slice(0, i).trim().toLowerCase(), value: tag.slice(i + 1) };
}

/**
 * The run's figures over the groups matching every filter given (environment, subscription and
 * location compared case-insensitively). Average score with one decimal, 100 for no cluster (as the
 * fleet summary does). `undefined` when the run left the filter's tag key out of its groups.
 */
export function filteredTrendPoint(slices: TrendSlices, filters: TrendFilters): FilteredTrendPoint | undefined {
  const tag = filters.tag === undefined ? undefined : parseTagFilter(filters.tag);
  if (tag !== undefined && slices.tagKeysLeftOut.includes(tag.key)) return undefined;
  const env = filters.environment?.toLowerCase();
  const sub = filters.subscriptionId?.toLowerCase();
  const loc = filters.location?.toLowerCase();
  let clusters = 0;
  let noncompliant = 0;
  let scoreSum = 0;
  const failingByControl: Record<string, number> = {};
  for (const g of slices.groups) {
    if (env !== undefined && g.environment !== env) continue;
    if (sub !== undefined && g.subscriptionId !== sub) continue;
    if (loc !== undefined && g.location !== loc) continue;
    if (tag !== undefined) {
      const v = g.tags[tag.key];
      if (v === undefined || (tag.value !== undefined && v !== tag.value)) continue;
    }
    clusters += g.clusters;
    noncompliant += g.noncompliant;
    scoreSum += g.scoreSum;
    for (const [id, n] of Object.entries(g.failingByControl)) failingByControl[id] = (failingByControl[id] ?? 0) + n;
  }
  const averageScore = clusters === 0 ? 100 : Math.round((10 * scoreSum) / clusters) / 10;
  return { runId: slices.runId, generatedAt: slices.generatedAt, averageScore, clusters, noncompliant, failingByControl };
}
