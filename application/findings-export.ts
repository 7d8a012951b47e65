/**
 * A run's findings as OCSF 1.8.0 Compliance Findings, one JSON object per line, read from the run's
 * sealed evidence blobs (what each cluster was judged on in that run, not today's state). Streams:
 * one blob at a time is gunzipped line by line and mapped, so memory does not grow with the run.
 */
import { createInterface } from 'node:readline';
import { createGunzip } from 'node:zlib';
import { parseClusterEvidence } from '../domain/evidence-record.js';
import { toComplianceFinding, type OcsfProduct } from '../domain/ocsf-finding.js';
import type { EvidenceStore } from './evidence-ports.js';
import { toReadable, type EvidenceReader } from './evidence-reader.js';

/** Output is handed on in chunks of about this size (one write per finding would cost more than mapping it). */
const CHUNK_BYTES = 64 * 1024;

export class FindingsExporter {
  constructor(private readonly deps: { readonly reader: EvidenceReader; readonly store: EvidenceStore; readonly product: OcsfProduct }) {}

  /**
   * The run's findings. Everything that can refuse the request (unknown run, run not complete, no
   * manifest) is checked before the stream starts; a blob that turns out unreadable mid-stream aborts it.
   */
  async exportOcsf(runId: string): Promise<{ readonly subscriptionsNotCollected: number; readonly stream: AsyncIterable<Uint8Array> }> {
    const evidence = await this.deps.reader.getEvidence(runId, '');
    return { subscriptionsNotCollected: evidence.notCollected.length, stream: this.stream(runId, evidence.blobs.map((b) => b.name)) };
  }

  private async *stream(runId: string, names: readonly string[]): AsyncIterable<Uint8Array> {
    let pending: string[] = [];
    let size = 0;
    for (const name of names) {
      const opened = await this.deps.store.openRead(name);
      if (opened === undefined) throw new Error(`evidence blob ${name} of run ${runId} is missing; run verify`);
      const lines = createInterface({ input: toReadable(opened.stream).pipe(createGunzip()), crlfDelay: Infinity });
      let lineNo = 0;
      for await (const line of lines) {
        lineNo += 1;
        if (line === '') continue;
        const record = parseClusterEvidence(line);
        if (record === undefined || record.runId !== runId) throw new Error(`evidence blob ${name} line ${lineNo} is not a cluster record of run ${runId}; run verify`);
        for (const control of record.controls) {
          const text = `${JSON.stringify(toComplianceFinding({ runId, evaluatedAt: record.evaluatedAt, cluster: record.cluster, control }, this.deps.product))}\n`;
          pending.push(text);
          size += text.length;
        }
        if (size >= CHUNK_BYTES) {
          yield Buffer.from(pending.join(''), 'utf8');
          pending = [];
          size = 0;
        }
      }
    }
    if (pending.length > 0) yield Buffer.from(pending.join(''), 'utf8');
  }
}
