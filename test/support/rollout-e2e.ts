/**
 * Rollout end-to-end helpers over an {@link E2eStack}: API calls with real tokens of named identities
 * (every request id is remembered, to find each call in the audit log), bounded waits on a rollout's
 * state, the emulator's assignments and its policy states over HTTPS, and raw step messages.
 */
import { randomUUID } from 'node:crypto';
import type { RolloutView } from '../../application/rollout-service.js';
import { ROLLOUT_QUEUES } from '../../application/messages.js';
import type { RolloutStepMessage } from '../../domain/rollout-model.js';
import type { ArmResource } from '../../local/arm-emulator/fleet-model.js';
import { waitFor, type ApiResponse, type E2eStack } from './e2e-stack.js';

export const MANAGE = 'Enforcement.Manage';
export const APPROVE = 'Enforcement.Approve';
/** Every GET of the API, rollouts included. */
export const READ = 'Compliance.Read';

export interface Identity {
  readonly oid: string;
  readonly roles: readonly string[];
}

export interface RolloutClient {
  /** Request ids of every call made through `call`, in order. */
  readonly requestIds: string[];
  call<T = unknown>(who: Identity, method: string, path: string, body?: unknown): Promise<ApiResponse<T>>;
  get(id: string): Promise<RolloutView>;
  /** Polls `GET /v1/rollouts/{id}` until `done` holds (bounded); the last view is in the error otherwise. */
  waitFor(id: string, what: string, done: (r: RolloutView) => boolean, timeoutMs?: number): Promise<RolloutView>;
}

export function identity(roles: readonly string[]): Identity {
  return { oid: randomUUID(), roles };
}

export function rolloutClient(e: E2eStack, reader: Identity): RolloutClient {
  const issuer = e.stack.issuer;
  if (issuer === undefined) throw new Error('the stack has no local token issuer');
  const tokens = new Map<string, Promise<string>>();
  const requestIds: string[] = [];
  const call = async <T>(who: Identity, method: string, path: string, body?: unknown): Promise<ApiResponse<T>> => {
    let token = tokens.get(who.oid);
    if (token === undefined) {
      token = issuer.mintToken({ roles: who.roles, oid: who.oid });
      tokens.set(who.oid, token);
    }
    const requestId = `ro-e2e-${randomUUID()}`;
    requestIds.push(requestId);
    const headers: Record<string, string> = { authorization: `Bearer ${await token}`, 'x-request-id': requestId };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${e.stack.apiUrl}${path}`, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
    const text = await res.text();
    return { status: res.status, body: (text === '' ? undefined : JSON.parse(text)) as T, headers: res.headers };
  };
  const get = async (id: string): Promise<RolloutView> => {
    const res = await call<RolloutView>(reader, 'GET', `/v1/rollouts/${encodeURIComponent(id)}`);
    if (res.status !== 200) throw new Error(`getRollout answered ${res.status}: ${JSON.stringify(res.body)}`);
    return res.body;
  };
  return {
    requestIds,
    call,
    get,
    async waitFor(id, what, done, timeoutMs = 30_000) {
      let last: RolloutView | undefined;
      try {
        return await waitFor(`rollout ${id}: ${what}`, async () => {
          last = await get(id);
          return done(last) ? last : undefined;
        }, timeoutMs, 250);
      } catch (error) {
        const summary = last === undefined ? 'none' : JSON.stringify({ state: last.state, cause: last.cause, nextStep: last.nextStep, waves: last.waves.map((w) => [w.name, w.state, w.reasons]), events: last.events?.slice(-6).map((ev) => ev.message) });
        throw new Error(`${error instanceof Error ? error.message : String(error)}; last view: ${summary}`, { cause: error });
      }
    },
  };
}

/** Request ids found in `GET /v1/audit-log` (every page). */
export async function auditedRequestIds(e: E2eStack, auditor: Identity, client: RolloutClient): Promise<Set<string>> {
  const found = new Set<string>();
  let path: string | undefined = '/v1/audit-log?top=1000';
  while (path !== undefined) {
    const res: ApiResponse<{ value: { requestId: string }[]; nextLink?: string }> = await client.call(auditor, 'GET', path);
    if (res.status !== 200) throw new Error(`listAuditLog answered ${res.status}`);
    for (const r of res.body.value) found.add(r.requestId);
    path = res.body.nextLink === undefined ? undefined : new URL(res.body.nextLink).pathname.replace(/^\/api/, '') + new URL(res.body.nextLink).search;
  }
  return found;
}

export function assignmentId(scope: string, name: string): string {
  return `${scope}/providers/Microsoft.Authorization/policyAssignments/${name}`;
}

/**
 * The assignment as the emulator holds it (a deep copy), or undefined. `systemData` is left out: ARM
 * stamps it on every write (`lastModifiedAt`), so it is no part of what a rollback must restore.
 */
export function emulatorAssignment(e: E2eStack, id: string): ArmResource | undefined {
  const found = e.stack.emulator?.fleet.policyAssignments.find((a) => a.id.toLowerCase() === id.toLowerCase());
  if (found === undefined) return undefined;
  const { systemData: _systemData, ...rest } = structuredClone(found);
  return rest;
}

/** PUTs the emulator received for this assignment (creates and replacements). */
export function assignmentPuts(e: E2eStack, id: string): number {
  return (e.stack.emulator?.requests.log ?? []).filter((r) => r.method === 'PUT' && r.path.toLowerCase() === id.toLowerCase()).length;
}

export interface EmulatorPolicyState {
  readonly resourceId: string;
  readonly policyAssignmentId: string;
  readonly policyDefinitionAction: string;
  readonly complianceState: string;
}

/** Latest policy states of a subscription from the emulator's Policy Insights route, with a managed-identity token. */
export async function emulatorPolicyStates(e: E2eStack, subscriptionId: string): Promise<EmulatorPolicyState[]> {
  const emulator = e.stack.emulator;
  if (emulator === undefined) throw new Error('no ARM emulator');
  const tokenRes = await fetch(`${emulator.identityEndpoint}?resource=${encodeURIComponent('https://management.azure.com/')}&api-version=2019-08-01`, {
    headers: { 'X-IDENTITY-HEADER': emulator.identityHeader },
  });
  const { access_token: accessToken } = (await tokenRes.json()) as { access_token: string };
  const out: EmulatorPolicyState[] = [];
  let url: string | undefined = `${emulator.url}/subscriptions/${subscriptionId}/providers/Microsoft.PolicyInsights/policyStates/latest/queryResults?api-version=2024-10-01`;
  let method = 'POST';
  while (url !== undefined) {
    const res = await fetch(url, { method, headers: { authorization: `Bearer ${accessToken}` } });
    if (res.status !== 200) throw new Error(`policyStates answered ${res.status}: ${await res.text()}`);
    const body = (await res.json()) as { value: EmulatorPolicyState[]; '@odata.nextLink'?: string };
    out.push(...body.value);
    url = body['@odata.nextLink'];
    method = 'GET';
  }
  return out;
}

/** Puts a raw step message on a rollout queue, encoded as the host reads it (base64 JSON). */
export async function sendStep(e: E2eStack, message: RolloutStepMessage, queue: string = ROLLOUT_QUEUES.steps): Promise<void> {
  const client = e.queue(queue);
  await client.createIfNotExists();
  await client.sendMessage(Buffer.from(JSON.stringify(message)).toString('base64'));
}

/** The step message the rollout waits for now. */
export function expectedStep(r: RolloutView): RolloutStepMessage {
  if (r.nextStep === undefined) throw new Error(`rollout ${r.id} expects no step (state ${r.state})`);
  return { kind: 'rollout-step', rolloutId: r.id, wave: r.nextStep.wave, step: r.nextStep.step, attempt: r.nextStep.attempt };
}
