/**
 * The Table Storage watermarks that keep ServiceNow actions in evaluation order, against Azurite: they
 * never move back, kinds are independent, hostile correlation ids round-trip, and concurrent advances
 * leave the latest time.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAzurite, type RunningAzurite } from '../../../local/azurite.js';
import { TableServiceNowWatermarks } from '../../../adapters/webhooks/table-servicenow-watermarks.js';
import { incidentCorrelationId } from '../../../domain/servicenow-mapping.js';

let azurite: RunningAzurite;
let n = 0;
beforeAll(async () => {
  azurite = await startAzurite();
});
afterAll(async () => {
  await azurite?.stop();
});

const open = () => TableServiceNowWatermarks.open({ connectionString: azurite.connectionString }, { tablePrefix: `snw${process.pid}x${(n += 1)}` });
const id = incidentCorrelationId('/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg/providers/Microsoft.Kubernetes/connectedClusters/edge-01', 'ARC-AC-01');

describe('ServiceNow watermarks (Table Storage)', () => {
  it('advances, never moves back, and keeps kinds apart', async () => {
    const w = await open();
    expect(await w.get('incident', id)).toBeUndefined();
    await w.advance('incident', id, '2026-04-02T02:00:00.000Z');
    await w.advance('incident', id, '2026-04-01T02:00:00.000Z');
    expect(await w.get('incident', id)).toBe('2026-04-02T02:00:00.000Z');
    await w.advance('incident', id, '2026-04-03T02:00:00.000Z');
    expect(await w.get('incident', id)).toBe('2026-04-03T02:00:00.000Z');
    expect(await w.get('event', id)).toBeUndefined();
    const hostile = 'a/b#c?d|e%f\\g';
    await w.advance('event', hostile, '2026-04-01T00:00:00.000Z');
    expect(await w.get('event', hostile)).toBe('2026-04-01T00:00:00.000Z');
  });

  it('leaves the latest time when advances race', async () => {
    const w = await open();
    // At most MAX_RACES writers: each loses only to another one that then stops, so none runs out of retries.
    const times = Array.from({ length: 5 }, (_, i) => `2026-04-0${i + 1}T02:00:00.000Z`);
    await Promise.all([...times].reverse().map((t) => w.advance('incident', id, t)));
    expect(await w.get('incident', id)).toBe('2026-04-05T02:00:00.000Z');
  });
});
