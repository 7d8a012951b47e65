/**
 * The in-memory webhook ports (`test/support/in-memory-ports.ts`) and the Table adapters, held to the
 * same expectations: the webhook tests that run over memory prove only what holds over Azurite if both
 * behave alike where the service can tell — row-key order (code units, escaped keys), paging, copies in
 * and out, conflicts, retention by the time in the delivery id and by the UTC day of a claim.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAzurite, type RunningAzurite } from '../../../local/azurite.js';
import { TableInboundMessageIdStore, TableWebhookDeliveryRepository, TableWebhookSubscriptionRepository, WebhookTables } from '../../../adapters/storage/table-webhook-store.js';
import { TableServiceNowWatermarks } from '../../../adapters/webhooks/table-servicenow-watermarks.js';
import { invertedTime } from '../../../adapters/storage/table-keys.js';
import { ConflictError } from '../../../domain/errors.js';
import type { InboundMessageIdStore, Page, WebhookDeliveryRepository, WebhookSubscriptionRepository } from '../../../application/ports.js';
import type { ServiceNowWatermarks } from '../../../application/servicenow-delivery.js';
import type { DeliveryStatus, WebhookDelivery, WebhookSubscription } from '../../../domain/webhook-subscription.js';
import {
  InMemoryInboundMessageIdStore,
  InMemoryServiceNowWatermarks,
  InMemoryWebhookDeliveryRepository,
  InMemoryWebhookSubscriptionRepository,
} from '../../support/in-memory-ports.js';

let azurite: RunningAzurite;
let prefixCounter = 0;
beforeAll(async () => {
  azurite = await startAzurite();
});
afterAll(async () => {
  await azurite?.stop();
});

interface WebhookPorts {
  readonly subscriptions: WebhookSubscriptionRepository;
  readonly deliveries: WebhookDeliveryRepository;
  readonly claims: InboundMessageIdStore;
  readonly watermarks: ServiceNowWatermarks;
}

async function tablePorts(): Promise<WebhookPorts> {
  const connection = { connectionString: azurite.connectionString };
  const tablePrefix = `whpar${process.pid}x${(prefixCounter += 1)}`;
  const tables = await WebhookTables.open(connection, { tablePrefix });
  return {
    subscriptions: new TableWebhookSubscriptionRepository(tables),
    deliveries: new TableWebhookDeliveryRepository(tables),
    claims: new TableInboundMessageIdStore(tables),
    watermarks: await TableServiceNowWatermarks.open(connection, { tablePrefix }),
  };
}

async function memoryPorts(): Promise<WebhookPorts> {
  return {
    subscriptions: new InMemoryWebhookSubscriptionRepository(),
    deliveries: new InMemoryWebhookDeliveryRepository(),
    claims: new InMemoryInboundMessageIdStore(),
    watermarks: new InMemoryServiceNowWatermarks(),
  };
}

const T0 = '2026-03-01T10:00:00.000Z';

function subscription(id: string): WebhookSubscription {
  return { id, url: 'https://receiver.example/hook', events: ['*'], format: 'standard', filters: {}, enabled: true, createdAt: T0, createdBy: 'test', secrets: { current: '' } };
}

/** `idAt` is the time in the id (the event's); `createdAt` when the record was written. */
function delivery(webhookId: string, idAt: string, createdAt: string, name: string, status: DeliveryStatus): WebhookDelivery {
  return { id: `${invertedTime(idAt)}-${name}`, webhookId, eventId: name, eventType: 'evaluation.completed', createdAt, status, attempts: [], event: '{}' };
}

/** Every item, following continuation tokens with pages of `top`. */
async function all<T>(top: number, read: (token: string | undefined) => Promise<Page<T>>): Promise<{ items: T[]; firstPage: T[] }> {
  const first = await read(undefined);
  const items = [...first.items];
  for (let token = first.continuationToken; token !== undefined; ) {
    const next = await read(token);
    expect(next.items.length).toBeLessThanOrEqual(top);
    items.push(...next.items);
    token = next.continuationToken;
  }
  return { items, firstPage: [...first.items] };
}

describe.each([
  ['Table Storage (Azurite)', tablePorts],
  ['in memory', memoryPorts],
] as const)('webhook ports: %s', (_name, open) => {
  it('subscriptions: row-key order of escaped ids by code unit, paging, copies in and out, conflicts', async () => {
    const { subscriptions } = await open();
    const created = subscription('a-hook');
    for (const s of [subscription('b-hook'), created, subscription('a/b'), subscription('B-hook')]) await subscriptions.create(s);
    // Escaped `a/b` is `a%2Fb`, before `a-hook`; `B` sorts before `a` by code unit.
    const order = ['B-hook', 'a/b', 'a-hook', 'b-hook'];
    expect((await subscriptions.listAll()).map((s) => s.id)).toEqual(order);
    const paged = await all(3, (token) => subscriptions.list(3, token));
    expect(paged.firstPage.map((s) => s.id)).toEqual(order.slice(0, 3));
    expect(paged.items.map((s) => s.id)).toEqual(order);

    await expect(subscriptions.create(subscription('a-hook'))).rejects.toBeInstanceOf(ConflictError);
    (created as { url: string }).url = 'https://changed-after-create.example/';
    const read = await subscriptions.get('a-hook');
    (read as { url: string }).url = 'https://changed-after-read.example/';
    expect((await subscriptions.get('a-hook'))?.url).toBe('https://receiver.example/hook');

    await subscriptions.update({ ...subscription('a-hook'), enabled: false });
    expect((await subscriptions.get('a-hook'))?.enabled).toBe(false);
    expect(await subscriptions.delete('a/b')).toBe(true);
    expect(await subscriptions.delete('a/b')).toBe(false);
    expect(await subscriptions.get('a/b')).toBeUndefined();
  });

  it('deliveries: newest first with paging, and retention by the time in the id, finished ones only, per webhook', async () => {
    const { deliveries } = await open();
    const cutoff = '2026-02-01T00:00:00.000Z';
    for (const d of [
      // Written after the cutoff for an event before it: as old as its event.
      delivery('hook/a', '2026-01-10T00:00:00.000Z', '2026-03-01T00:00:00.000Z', 'late-record', 'delivered'),
      // Written before the cutoff (a clock behind) for an event after it: kept.
      delivery('hook/a', '2026-02-15T00:00:00.000Z', '2026-01-01T00:00:00.000Z', 'early-record', 'delivered'),
      delivery('hook/a', cutoff, cutoff, 'at-cutoff', 'failed'),
      delivery('hook/a', '2026-01-05T00:00:00.000Z', '2026-01-05T00:00:00.000Z', 'old-retrying', 'retrying'),
      delivery('hook/a', '2026-01-06T00:00:00.000Z', '2026-01-06T00:00:00.000Z', 'old-pending', 'pending'),
      delivery('hook/b', '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z', 'other-webhook', 'dead-lettered'),
    ]) {
      await deliveries.create(d);
    }
    const newestFirst = ['early-record', 'at-cutoff', 'late-record', 'old-pending', 'old-retrying'];
    const paged = await all(2, (token) => deliveries.list('hook/a', 2, token));
    expect(paged.firstPage.map((d) => d.eventId)).toEqual(newestFirst.slice(0, 2));
    expect(paged.items.map((d) => d.eventId)).toEqual(newestFirst);

    const first = paged.items[0]!;
    await expect(deliveries.create(first)).rejects.toBeInstanceOf(ConflictError);
    (first as { status: DeliveryStatus }).status = 'canceled';
    expect((await deliveries.get('hook/a', first.id))?.status).toBe('delivered');
    await deliveries.update({ ...first, status: 'failed', reason: 'gone' });
    expect(await deliveries.get('hook/a', first.id)).toMatchObject({ status: 'failed', reason: 'gone' });
    await deliveries.update({ ...first, status: 'delivered' });

    expect(await deliveries.deleteFinishedBefore('hook/a', cutoff)).toBe(2);
    expect((await deliveries.list('hook/a', 10)).items.map((d) => d.eventId)).toEqual(['early-record', 'old-pending', 'old-retrying']);
    expect((await deliveries.list('hook/b', 10)).items.map((d) => d.eventId)).toEqual(['other-webhook']);
    expect(await deliveries.deleteFinishedBefore('hook/a', cutoff)).toBe(0);
    expect(await deliveries.deleteAll('hook/b')).toBe(1);
    expect((await deliveries.list('hook/b', 10)).items).toEqual([]);
  });

  it('claims: once only with the owner on the claim, an invalid time claims nothing, retention by UTC day', async () => {
    const { claims } = await open();
    // 23:30 at UTC-2 is 01:30 UTC the next day: it expires by that day, not by the local date.
    expect(await claims.claim('src', 'id-1', '2026-03-01T23:30:00-02:00', 'msg-1')).toBe(true);
    expect(await claims.claim('src', 'id-1', '2026-03-01T23:31:00-02:00', 'msg-2')).toBe(false);
    expect(await claims.ownerOf('src', 'id-1')).toBe('msg-1');
    expect(await claims.claim('src', 'id-2', '2026-03-01T10:00:00.000Z')).toBe(true);
    expect(await claims.ownerOf('src', 'id-2')).toBeUndefined();
    expect(await claims.ownerOf('src', 'never-claimed')).toBeUndefined();
    await expect(claims.claim('src', 'a/b|c', 'not a time', 'msg-3')).rejects.toBeInstanceOf(RangeError);
    expect(await claims.claim('src', 'a/b|c', '2026-03-05T00:00:00.000Z', 'msg-4')).toBe(true);
    expect(await claims.ownerOf('src', 'a/b|c')).toBe('msg-4');
    expect(await claims.claim('other', 'id-2', '2026-02-01T00:00:00.000Z')).toBe(true);

    expect(await claims.forgetClaimedBefore('src', '2026-03-02T12:00:00.000Z')).toBe(1);
    expect(await claims.claim('src', 'id-2', '2026-03-06T00:00:00.000Z')).toBe(true);
    expect(await claims.claim('src', 'id-1', '2026-03-06T00:00:00.000Z')).toBe(false);
    expect(await claims.claim('other', 'id-2', '2026-03-06T00:00:00.000Z')).toBe(false);

    await claims.release('src', 'id-1');
    await claims.release('src', 'id-1');
    expect(await claims.ownerOf('src', 'id-1')).toBeUndefined();
    expect(await claims.claim('src', 'id-1', '2026-03-06T00:00:00.000Z', 'msg-5')).toBe(true);
    expect(await claims.ownerOf('src', 'id-1')).toBe('msg-5');
  });

  it('ServiceNow watermarks: never move back, kinds apart, retention before the cutoff only', async () => {
    const { watermarks } = await open();
    await watermarks.advance('incident', 'c/1', '2026-04-02T02:00:00.000Z');
    await watermarks.advance('incident', 'c/1', '2026-04-01T02:00:00.000Z');
    await watermarks.advance('event', 'c/1', '2026-03-01T02:00:00.000Z');
    await watermarks.advance('incident', 'c|2', '2026-03-31T23:59:59.999Z');
    expect(await watermarks.get('incident', 'c/1')).toBe('2026-04-02T02:00:00.000Z');
    expect(await watermarks.get('event', 'c/1')).toBe('2026-03-01T02:00:00.000Z');
    expect(await watermarks.forgetOlderThan('2026-04-01T00:00:00.000Z')).toBe(2);
    expect(await watermarks.get('event', 'c/1')).toBeUndefined();
    expect(await watermarks.get('incident', 'c|2')).toBeUndefined();
    expect(await watermarks.get('incident', 'c/1')).toBe('2026-04-02T02:00:00.000Z');
  });
});
