/**
 * Stored shapes of the `webhookinbound` table: a claim (row = the claimed id) records when the id was
 * claimed and, for a delivery-attempt claim, the queue message that made it; its expiry entry (row = `~|<UTC day>|<claim row>`) is a marker whose keys are all it says,
 * versioned like every record so that a later release can give it properties.
 */
import { defineRecordCodec, type StoredEntity } from './record-codec.js';

export interface InboundClaimRecord {
  /** ISO time of the claim; decides the UTC day of its expiry entry. */
  readonly at: string;
  /** Who claimed it (a delivery attempt's queue message id); absent on claims made without one. */
  readonly owner?: string | undefined;
}

export const inboundClaimCodec = defineRecordCodec<InboundClaimRecord>({
  kind: 'inbound-claim',
  version: 1,
  schema: { type: 'object', required: ['at'], properties: { at: { type: 'string', minLength: 1 }, owner: { type: 'string' } } },
  encode: (claim) => ({ at: claim.at, ...(claim.owner !== undefined ? { owner: claim.owner } : {}) }),
  readers: { 1: (e: StoredEntity) => ({ at: e['at'], ...(e['owner'] !== undefined && e['owner'] !== null ? { owner: e['owner'] } : {}) }) },
});

export const inboundExpiryCodec = defineRecordCodec<Record<string, never>>({
  kind: 'inbound-claim-expiry',
  version: 1,
  schema: { type: 'object', additionalProperties: false },
  encode: () => ({}),
  readers: { 1: () => ({}) },
});
