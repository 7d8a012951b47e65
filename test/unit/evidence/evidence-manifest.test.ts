import { describe, expect, it } from 'vitest';
import {
  buildManifest,
  checkBlob,
  checkLink,
  checkManifestName,
  manifestBlobName,
  parseManifest,
  parseManifestBlobName,
  parseSubscriptionBlobName,
  serializeManifest,
  sha256Hex,
  subscriptionBlobName,
  type EvidenceManifest,
} from '../../../domain/evidence-manifest.js';

const SUB = '00000000-0000-0000-0000-0000000000aa';
const blob = { name: subscriptionBlobName('run-1', SUB), subscriptionId: SUB, clusters: 3, bytes: 120, sha256: sha256Hex('x') };
const manifest = (sequence: number, runId: string, previous: EvidenceManifest['previousManifest']): EvidenceManifest =>
  buildManifest({
    sequence,
    run: { id: runId, trigger: 'timer', startedAt: '2026-01-01T02:00:00.000Z', endedAt: '2026-01-01T02:10:00.000Z' },
    appVersion: '0.1.0',
    catalogVersion: 'sha256:abc',
    blobs: [blob],
    notCollected: [],
    subscriptionsNotDiscovered: [],
    previous,
  });

describe('evidence names', () => {
  it('round-trips subscription and manifest names; the sequence sorts as text', () => {
    expect(parseSubscriptionBlobName(subscriptionBlobName('run-1', SUB.toUpperCase()))).toEqual({ runId: 'run-1', subscriptionId: SUB });
    expect(manifestBlobName(12, 'run-1')).toBe('manifests/0000000012-run-1.manifest.json');
    expect(parseManifestBlobName(manifestBlobName(12, 'run-1'))).toEqual({ sequence: 12, runId: 'run-1' });
    expect(manifestBlobName(9, 'z') < manifestBlobName(10, 'a')).toBe(true);
    expect(() => subscriptionBlobName('../x', SUB)).toThrow();
    expect(() => subscriptionBlobName('run-1', 'not-a-sub')).toThrow();
    expect(parseManifestBlobName('manifests/12-run.manifest.json')).toBeUndefined();
  });
});

describe('manifest', () => {
  it('serializes to bytes that parse back to the same manifest', () => {
    const m = manifest(1, 'run-1', null);
    expect(parseManifest(serializeManifest(m))).toEqual(m);
    expect(parseManifest('{"schema":"other"}')).toBeUndefined();
    expect(parseManifest(new Uint8Array([0xff, 0xfe]))).toBeUndefined();
    expect(() => manifest(2, 'run-2', null)).toThrow();
  });

  it('checks blobs: missing, changed hash, changed size', () => {
    expect(checkBlob('run-1', blob, { found: true, bytes: 120, sha256: blob.sha256 })).toEqual([]);
    expect(checkBlob('run-1', blob, { found: false })).toMatchObject([{ kind: 'missing', blob: blob.name }]);
    expect(checkBlob('run-1', blob, { found: true, bytes: 120, sha256: sha256Hex('y') })).toMatchObject([{ kind: 'hash_mismatch' }]);
    expect(checkBlob('run-1', blob, { found: true, bytes: 121, sha256: blob.sha256 })).toMatchObject([{ kind: 'hash_mismatch' }]);
  });

  it('checks links: absent, altered, reordered, a missing first link, a renamed manifest', () => {
    const first = manifest(1, 'run-1', null);
    const firstName = manifestBlobName(1, 'run-1');
    const firstHash = sha256Hex(serializeManifest(first));
    const second = manifest(2, 'run-2', { name: firstName, sha256: firstHash });
    const secondName = manifestBlobName(2, 'run-2');
    expect(checkLink(first, firstName, { found: false })).toEqual([]);
    expect(checkLink(second, secondName, { found: true, name: firstName, sha256: firstHash, manifest: first })).toEqual([]);
    expect(checkLink(second, secondName, { found: false })).toMatchObject([{ kind: 'chain_broken', runId: 'run-2', blob: firstName }]);
    expect(checkLink(second, secondName, { found: true, name: firstName, sha256: sha256Hex('other'), manifest: first })).toMatchObject([{ kind: 'chain_broken' }]);
    expect(checkLink(second, secondName, { found: true, name: firstName, sha256: firstHash, manifest: manifest(3, 'run-1', { name: 'x', sha256: firstHash }) })).toMatchObject([{ kind: 'chain_broken' }]);
    expect(checkLink({ ...second, previousManifest: null }, secondName, { found: false })).toMatchObject([{ kind: 'chain_broken' }]);
    expect(checkManifestName(second, secondName)).toEqual([]);
    expect(checkManifestName(second, manifestBlobName(3, 'run-2'))).toMatchObject([{ kind: 'chain_broken' }]);
  });
});
