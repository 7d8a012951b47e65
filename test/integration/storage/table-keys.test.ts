import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { escapeKey, invertedTime, joinKey, unescapeKey } from '../../../adapters/storage/table-keys.js';
import { CHUNK_CHARS, readChunks, writeChunks } from '../../../adapters/storage/chunked-property.js';
import { decodeContinuation, encodeContinuation } from '../../../adapters/storage/table-store.js';
import { InvalidRequestError } from '../../../domain/errors.js';

describe('table keys', () => {
  it('escapes every character Table Storage forbids in keys, reversibly', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (s) => {
        const key = escapeKey(s);
        // eslint-disable-next-line no-control-regex -- the property is that no control character survives escaping.
        expect(key).not.toMatch(/[/\\#?|\u0000-\u001f\u007f-\u009f]/);
        expect(unescapeKey(key)).toBe(s);
      }),
    );
    expect(escapeKey('a/b#c?d')).toBe('a%2Fb%23c%3Fd');
  });

  it('keeps distinct parts distinct and bounds long keys', () => {
    expect(joinKey('a|b', 'c')).not.toBe(joinKey('a', 'b|c'));
    const long = joinKey('x'.repeat(2000));
    expect(long.length).toBeLessThanOrEqual(700);
    expect(long).not.toBe(joinKey(`${'x'.repeat(1999)}y`));
  });

  it('inverts time so later sorts first', () => {
    expect(invertedTime('2026-05-02T00:00:00Z') < invertedTime('2026-05-01T00:00:00Z')).toBe(true);
    expect(invertedTime('2026-05-02T00:00:00Z')).toHaveLength(16);
  });
});

describe('chunked properties', () => {
  it('splits long text without breaking surrogate pairs and reads it back', () => {
    const text = `${'a'.repeat(CHUNK_CHARS - 1)}😀${'b'.repeat(CHUNK_CHARS)}`;
    const props = writeChunks('v', text);
    expect(props['v_n']).toBe(3);
    for (const [k, v] of Object.entries(props)) if (k !== 'v_n') expect(String(v).length).toBeLessThanOrEqual(CHUNK_CHARS);
    expect(readChunks(props, 'v')).toBe(text);
    expect(readChunks(writeChunks('v', ''), 'v')).toBe('');
    expect(readChunks({}, 'v')).toBeUndefined();
  });
});

describe('continuation tokens', () => {
  it('round-trips and rejects tampering', () => {
    const sdk = Buffer.from(JSON.stringify({ nextPartitionKey: 'p', nextRowKey: 'r' })).toString('base64');
    expect(decodeContinuation(encodeContinuation(sdk))).toEqual({ sdk, skip: 0 });
    expect(encodeContinuation(undefined)).toBeUndefined();
    for (const bad of ['', '!!', Buffer.from('{"v":2,"c":"x"}').toString('base64url'), Buffer.from('{"v":1,"c":"%%%"}').toString('base64url')]) {
      expect(() => decodeContinuation(bad)).toThrow(InvalidRequestError);
    }
  });
});
