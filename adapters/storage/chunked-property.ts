/**
 * Large string values split over several entity properties (`<name>_0`, `<name>_1`, … and
 * `<name>_n`, the count), so one value may exceed the 64 KiB property limit while the entity stays
 * under 1 MiB.
 */

/** 32,000 UTF-16 code units = 64,000 bytes: just under the 64 KiB string property limit. */
export const CHUNK_CHARS = 32_000;

/** Keeps an entity with other properties well under the 1 MiB entity limit (12 × 64 KB ≈ 750 KiB). */
export const MAX_CHUNKS = 12;

export const MAX_CHUNKED_CHARS = CHUNK_CHARS * MAX_CHUNKS;

export function writeChunks(name: string, text: string): Record<string, string | number> {
  if (text.length > MAX_CHUNKED_CHARS) throw new RangeError(`${name} is ${text.length} characters; at most ${MAX_CHUNKED_CHARS} fit in one entity`);
  const out: Record<string, string | number> = {};
  let count = 0;
  let i = 0;
  do {
    // Never split a surrogate pair: the service would reject a lone surrogate.
    let end = Math.min(i + CHUNK_CHARS, text.length);
    const last = text.charCodeAt(end - 1);
    if (end < text.length && last >= 0xd800 && last <= 0xdbff) end -= 1;
    out[`${name}_${count}`] = text.slice(i, end);
    count += 1;
    i = end;
  } while (i < text.length);
  out[`${name}_n`] = count;
  return out;
}

export function readChunks(entity: Readonly<Record<string, unknown>>, name: string): string | undefined {
  const count = entity[`${name}_n`];
  if (typeof count !== 'number' || !Number.isInteger(count) || count < 1) return undefined;
  let text = '';
  for (let i = 0; i < count; i += 1) {
    const part = entity[`${name}_${i}`];
    if (typeof part !== 'string') return undefined;
    text += part;
  }
  return text;
}
