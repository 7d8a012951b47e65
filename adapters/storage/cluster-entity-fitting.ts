/**
 * Size fitting of a cluster state entity (1 MiB entity, 64 KiB property, 252 properties): tags and the
 * evaluation share the entity's chunk budget, and each is cut, always to valid JSON, so that the write
 * never fails on size (docs/data-model.md, "Size limits").
 */
import type { ClusterEvaluation, ControlResult } from '../../domain/model.js';
import { CHUNK_CHARS, MAX_CHUNKED_CHARS, MAX_CHUNKS } from './chunked-property.js';

/**
 * Cuts offenders and evidence harder and harder until the evaluation JSON fits `maxChars` (default:
 * the whole entity's chunk budget); always valid JSON, never longer than `maxChars`.
 */
export function fitEvaluation(evaluation: ClusterEvaluation, maxChars: number = MAX_CHUNKED_CHARS): string {
  const full = JSON.stringify(evaluation);
  if (full.length <= maxChars) return full;
  for (const [items, evidence] of [[5, 256], [0, 64], [0, 0]] as const) {
    const controls = evaluation.controls.map((c): ControlResult => ({
      ...c,
      evidence: c.evidence.length > evidence ? `${c.evidence.slice(0, evidence)}… (${c.evidence.length} characters, truncated for storage)` : c.evidence,
      ...(c.offenders ? { offenders: { items: c.offenders.items.slice(0, items).map((i) => i.slice(0, 256)), total: c.offenders.total } } : {}),
      ...(c.reason !== undefined ? { reason: c.reason.slice(0, 256) } : {}),
    }));
    const text = JSON.stringify({ ...evaluation, controls });
    if (text.length <= maxChars) return text;
  }
  // Only reachable with thousands of controls: keep identity and score, and as many failing control
  // ids as fit (the list columns keep all of them). Cutting the JSON text instead made the stored
  // evaluation unparseable, and the cluster unreadable.
  let failed = evaluation.failedControls.length;
  for (;;) {
    const text = JSON.stringify({ ...evaluation, controls: [], failedControls: evaluation.failedControls.slice(0, failed) });
    if (text.length <= maxChars) return text;
    if (failed === 0) throw new RangeError(`cluster evaluation ${evaluation.clusterId} does not fit ${maxChars} characters even without controls`);
    failed = Math.floor(failed / 2);
  }
}

/**
 * Tags as stored: JSON chunked over `tags_0..n` (ARM allows 50 tags of up to 512 + 256 characters,
 * 38,700 characters as plain JSON, and up to ~231,000 if every character needs a `\uXXXX` escape).
 * Beyond `MAX_TAGS_CHARS` (unreachable within ARM's limits) whole tags are dropped, longest first,
 * and `tagsDropped` counts them: the entity write must never fail, and a cut inside the JSON text
 * (the earlier 32,000-character slice) made every later read of the cluster throw.
 */
export const MAX_TAG_CHUNKS = 8;
const MAX_TAGS_CHARS = MAX_TAG_CHUNKS * (CHUNK_CHARS - 1);

export function fitTags(tags: Readonly<Record<string, string>>): { readonly json: string; readonly dropped: number } {
  let entries = Object.entries(tags);
  let json = JSON.stringify(Object.fromEntries(entries));
  if (json.length <= MAX_TAGS_CHARS) return { json, dropped: 0 };
  const size = ([k, v]: [string, string]): number => JSON.stringify(k).length + JSON.stringify(v).length;
  const byLengthDesc = [...entries].sort((a, b) => size(b) - size(a));
  let dropped = 0;
  while (json.length > MAX_TAGS_CHARS) {
    const longest = byLengthDesc[dropped] as [string, string];
    dropped += 1;
    entries = entries.filter((e) => e !== longest);
    json = JSON.stringify(Object.fromEntries(entries));
  }
  return { json, dropped };
}

/** Chunks one chunk holds at least (a chunk gives up one character rather than split a surrogate pair). */
const chunksFor = (text: string): number => Math.max(1, Math.ceil(text.length / (CHUNK_CHARS - 1)));

/** Characters left for the evaluation once the tags have taken their chunks (MAX_CHUNKS × 64 KB keeps the entity under 1 MiB). */
export function evaluationBudget(tagsJson: string): number {
  return (MAX_CHUNKS - chunksFor(tagsJson)) * (CHUNK_CHARS - 1);
}

/** ~0.6 KB for the 16 catalog controls; the cap keeps the entity within 1 MiB next to a full evaluation. */
const MAX_CONTROL_STATUSES_CHARS = 8_000;

/** `[controlId, status, severity]` per control; left out (the row is then read in full) beyond the cap. */
export function controlStatusesOf(evaluation: ClusterEvaluation): string | undefined {
  const text = JSON.stringify(evaluation.controls.map((c) => [c.controlId, c.status, c.severity]));
  return text.length <= MAX_CONTROL_STATUSES_CHARS ? text : undefined;
}
