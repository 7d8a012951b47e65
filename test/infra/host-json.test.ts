import { describe, expect, it } from 'vitest';
import { readJson } from './infra-files.js';

/** Parses a .NET TimeSpan in host.json form ([d.]hh:mm:ss[.fff]) into milliseconds; NaN when invalid. */
export function parseTimeSpan(value: unknown): number {
  if (typeof value !== 'string') return Number.NaN;
  const m = /^(?:(\d+)\.)?(\d{1,2}):(\d{2}):(\d{2})(?:\.(\d{1,7}))?$/.exec(value);
  if (!m) return Number.NaN;
  const [, d, h, min, s, frac] = m;
  if (Number(h) > 23 || Number(min) > 59 || Number(s) > 59) return Number.NaN;
  const ms = frac ? Number(`0.${frac}`) * 1000 : 0;
  return ((Number(d ?? 0) * 24 + Number(h)) * 60 + Number(min)) * 60_000 + Number(s) * 1000 + ms;
}

interface HostJson {
  version?: unknown;
  extensionBundle?: { id?: unknown; version?: unknown };
  functionTimeout?: unknown;
  extensions?: {
    http?: { routePrefix?: unknown };
    queues?: Record<string, unknown>;
  };
}

const host = readJson('host.json') as HostJson;

describe('parseTimeSpan', () => {
  it('accepts host.json timespans and rejects malformed ones', () => {
    expect(parseTimeSpan('00:00:02')).toBe(2000);
    expect(parseTimeSpan('00:10:00')).toBe(600_000);
    expect(parseTimeSpan('1.00:00:00')).toBe(86_400_000);
    expect(parseTimeSpan('00:00:00.500')).toBe(500);
    expect(parseTimeSpan('2s')).toBeNaN();
    expect(parseTimeSpan('00:61:00')).toBeNaN();
    expect(parseTimeSpan(2)).toBeNaN();
  });
});

describe('host.json for the Functions v4 host', () => {
  it('is schema version 2.0 with the v4 extension bundle range', () => {
    expect(host.version).toBe('2.0');
    expect(host.extensionBundle?.id).toBe('Microsoft.Azure.Functions.ExtensionBundle');
    expect(host.extensionBundle?.version).toBe('[4.*, 5.0.0)');
  });

  it('has queue settings of the right types and within the documented bounds', () => {
    const q = host.extensions?.queues;
    expect(q).toBeDefined();
    const batchSize = q!.batchSize;
    expect(Number.isInteger(batchSize)).toBe(true);
    expect(batchSize as number).toBeGreaterThanOrEqual(1);
    expect(batchSize as number).toBeLessThanOrEqual(32);
    if (q!.newBatchThreshold !== undefined) {
      expect(Number.isInteger(q!.newBatchThreshold)).toBe(true);
      expect(q!.newBatchThreshold as number).toBeGreaterThanOrEqual(0);
    }
    expect(Number.isInteger(q!.maxDequeueCount)).toBe(true);
    expect(q!.maxDequeueCount as number).toBeGreaterThanOrEqual(1);
    for (const key of ['maxPollingInterval', 'visibilityTimeout'] as const) {
      if (q![key] !== undefined) expect(parseTimeSpan(q![key]), key).not.toBeNaN();
    }
    // The host's minimum polling interval is 100 ms.
    if (q!.maxPollingInterval !== undefined) expect(parseTimeSpan(q!.maxPollingInterval)).toBeGreaterThanOrEqual(100);
    if (q!.messageEncoding !== undefined) expect(['base64', 'none']).toContain(q!.messageEncoding);
    const known = new Set(['batchSize', 'newBatchThreshold', 'maxPollingInterval', 'visibilityTimeout', 'maxDequeueCount', 'messageEncoding']);
    expect(Object.keys(q!).filter((k) => !known.has(k)), 'unknown queue settings').toEqual([]);
  });

  it('has a parseable function timeout and the api route prefix', () => {
    if (host.functionTimeout !== undefined) {
      const ms = parseTimeSpan(host.functionTimeout);
      expect(ms).not.toBeNaN();
      expect(ms).toBeGreaterThan(0);
    }
    expect(host.extensions?.http?.routePrefix ?? 'api').toBe('api');
  });
});
