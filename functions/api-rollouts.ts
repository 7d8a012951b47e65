/**
 * Staged enforcement API: plan/create (`dryRun`), list, get, approve a wave, pause/resume/abort/rollback.
 * Every rollout call is in the audit log: the reads too (`auditReads`).
 */
import type { ApiRuntime } from '../adapters/http/api-runtime.js';
import { registerOperations } from '../adapters/http/azure-functions.js';
import { toCollection } from '../adapters/http/collections.js';
import { defineOperation } from '../adapters/http/operation.js';
import type { RolloutAction } from '../application/rollout-service.js';
import type { RolloutRequest } from '../domain/rollout-model.js';

const runtime = (): Promise<ApiRuntime> => import('../bootstrap/api-runtime.js').then((m) => m.getApiRuntime());

export const createRollout = defineOperation<object, { dryRun?: boolean }, RolloutRequest>('createRollout', async ({ services: { rollouts }, body, query, principal, url }) => {
  const result = await rollouts.create(body, principal?.subject ?? 'unknown', { dryRun: query.dryRun === true });
  if (result.dryRun) return { status: 200, body: result.plan, auditTarget: `rollouts (dry run of ${body.policyAssignmentId})` };
  const location = new URL(`/api/v1/rollouts/${encodeURIComponent(result.rollout.id)}`, url).toString();
  return { status: 201, body: result.rollout, headers: { location }, auditTarget: `rollouts/${result.rollout.id} (${body.policyAssignmentId})` };
});

export const listRollouts = defineOperation<object, { top: number; continuationToken?: string }>(
  'listRollouts',
  async ({ services, query, url, audit }) => {
    audit.target = 'rollouts';
    return { status: 200, body: toCollection(await services.rollouts.list(query.top, query.continuationToken), url) };
  },
  { auditReads: true },
);

export const getRollout = defineOperation<{ rolloutId: string }>(
  'getRollout',
  async ({ services, params, audit }) => {
    audit.target = `rollouts/${params.rolloutId}`;
    return { status: 200, body: await services.rollouts.get(params.rolloutId) };
  },
  { auditReads: true },
);

export const approveRolloutWave = defineOperation<{ rolloutId: string; wave: string }, object, { comment?: string }>('approveRolloutWave', async ({ services, params, principal, body }) => {
  const rollout = await services.rollouts.approve(params.rolloutId, params.wave, principal?.subject ?? 'unknown', body.comment);
  const comment = body.comment?.trim();
  return {
    status: 200,
    body: rollout,
    auditTarget: `rollouts/${params.rolloutId}/waves/${params.wave}`,
    ...(comment ? { auditDetail: `comment: ${comment}` } : {}),
  };
});

export const controlRollout = defineOperation<{ rolloutId: string; action: RolloutAction }>('controlRollout', async ({ services, params, principal }) => {
  const rollout = await services.rollouts.command(params.rolloutId, params.action, principal?.subject ?? 'unknown');
  return { status: 200, body: rollout, auditTarget: `rollouts/${params.rolloutId} (${params.action})` };
});

registerOperations([createRollout, listRollouts, getRollout, approveRolloutWave, controlRollout], runtime);
