/**
 * Benchmark-only HTTP function (never part of the app): answers with pre-captured bytes and does
 * nothing else — no token check, no validation, no storage. Measured next to the real endpoints, it
 * is the floor the local runtime plus the `@azure/functions` programming model cost per request on
 * this machine, so the report can say how much of the gap to a bare `node:http` server is the app's.
 */
import { app } from '@azure/functions';

interface Captured {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: Buffer;
}

const responses = new Map<string, Captured>();

/** Loads the bytes to answer per app path (from the parent over IPC). */
export function setFloorResponses(captured: Record<string, { status: number; headers: Record<string, string>; bodyBase64: string }>): number {
  for (const [path, r] of Object.entries(captured)) responses.set(path, { status: r.status, headers: r.headers, body: Buffer.from(r.bodyBase64, 'base64') });
  return responses.size;
}

app.http('benchFloor', {
  route: 'bench-floor',
  methods: ['GET'],
  authLevel: 'anonymous',
  handler: async (request) => {
    const r = responses.get(request.query.get('p') ?? '');
    if (r === undefined) return { status: 404 };
    return { status: r.status, headers: r.headers, body: r.body };
  },
});
