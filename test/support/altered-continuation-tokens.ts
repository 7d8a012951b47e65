/**
 * Continuation tokens that are well-formed base64url JSON but not what the service issued: each
 * must be refused as `InvalidRequest` (400) by every paged read, never reach the Table SDK (which
 * answered them with a TypeError, i.e. a 500).
 */
import { CONTROL_IDS } from '../../domain/control-catalog.js';
const json = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));
/** The outer token: base64url JSON. */
const outer = (value: unknown): string => json(value).toString('base64url');
/** The SDK's own continuation: standard base64 JSON. */
const sdk = (value: unknown): string => json(value).toString('base64');
const wrap = (inner: unknown): string => outer({ v: 1, c: inner });

const GOOD_SDK = sdk({ nextPartitionKey: 'cDA=', nextRowKey: 'cjE=' });

export const ALTERED_TABLE_TOKENS: Readonly<Record<string, string>> = {
  'nextPartitionKey is a number': wrap(sdk({ nextPartitionKey: 123 })),
  'SDK token is null': wrap(sdk(null)),
  'SDK token is an array': wrap(sdk(['p', 'r'])),
  'SDK token is a string': wrap(sdk('p')),
  'SDK token lacks nextPartitionKey': wrap(sdk({ nextRowKey: 'cjE=' })),
  'nextRowKey is an object': wrap(sdk({ nextPartitionKey: 'cDA=', nextRowKey: { x: 1 } })),
  'nextRowKey is null': wrap(sdk({ nextPartitionKey: 'cDA=', nextRowKey: null })),
  'unknown SDK field': wrap(sdk({ nextPartitionKey: 'cDA=', extra: 'x' })),
  'empty nextPartitionKey': wrap(sdk({ nextPartitionKey: '' })),
  'key with a control character': wrap(sdk({ nextPartitionKey: 'a\nb' })),
  'key with a space': wrap(sdk({ nextPartitionKey: 'a b' })),
  'key with non-ASCII': wrap(sdk({ nextPartitionKey: 'ü' })),
  'key longer than 2048 characters': wrap(sdk({ nextPartitionKey: 'a'.repeat(2049) })),
  'SDK token not JSON': wrap(Buffer.from('not json').toString('base64')),
  'SDK token not base64': wrap('%%%'),
  'SDK token not canonical base64': wrap(`${GOOD_SDK.replace(/=+$/, '')}`),
  'c is a number': outer({ v: 1, c: 5 }),
  'c is null': outer({ v: 1, c: null }),
  'unknown field': outer({ v: 1, c: GOOD_SDK, x: 1 }),
  'version 2': outer({ v: 2, c: GOOD_SDK }),
  'no version': outer({ c: GOOD_SDK }),
  'skip 0': outer({ v: 1, s: 0 }),
  'skip 1000': outer({ v: 1, s: 1000 }),
  'negative skip': outer({ v: 1, c: GOOD_SDK, s: -1 }),
  'fractional skip': outer({ v: 1, s: 1.5 }),
  'skip as a string': outer({ v: 1, s: '3' }),
  'neither continuation nor skip': outer({ v: 1 }),
  'token is null': outer(null),
  'token is an array': outer([1, GOOD_SDK]),
  'token is a number': outer(7),
  'not canonical base64url': `${outer({ v: 1, s: 3 })}A`,
};

/** Offset tokens of the in-memory catalog paging (`pageOf`): base64url of `o<offset>`. */
const offset = (text: string): string => Buffer.from(text, 'latin1').toString('base64url');

export const ALTERED_OFFSET_TOKENS: Readonly<Record<string, string>> = {
  'offset 0': offset('o0'),
  'leading zero': offset('o05'),
  'negative offset': offset('o-5'),
  'offset past the catalog': offset(`o${CONTROL_IDS.length}`),
  'huge offset': offset('o999999999'),
  'fractional offset': offset('o1.5'),
  'not an offset': offset('x5'),
  'trailing text': offset('o5 '),
  'not canonical base64url': `${offset('o5')}A`,
  'a Table token': outer({ v: 1, s: 3 }),
};
