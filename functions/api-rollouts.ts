/**
 * Staged enforcement API: plan/create (`dryRun`), list, get, approve a wave, pause/resume/abort/rollback.
 * Mutating calls are audited by the operation wrapper; reads of rollouts are audited here, so every
 * rollout call is in the audit log.
 */
import type { ApiRuntime } from '../adapters/http/api-runtime.js';
import { registerOperations } from '../adapters/http/azure-functions.js';
import { toCollection } from '../adapters/http/collections.js';
import { defineOperation, type OperationContext } from '../adapters/http/operation.js';
import type { RolloutAction } from '../application/rollout-service.js';
import { toRolloutView } from '../application/rollout-service.js';
import type { RolloutRequest } from '../domain/rollout-model.js';

const runtime = (): Promise<ApiRuntime> => import('../bootstrap/api-runtime.js').then((m) => m.getApiRuntime());

async function auditRead(ctx: OperationContext<unknown, unknown, unknown>, operation: string, target: string): Promise<void> {
  await ctx.services.auditLog.append({
    id: `${ctx.requestId}-${operation}`,
    at: ctx.now.toISOString(),
    requestId: ctx.requestId,
    callerObjectId: ctx.principal?.objectId,
    callerAppId: ctx.principal?.appId,
    roles: ctx.principal?.roles ?? [],
    operation,
    target,
    outcome: 'succeeded',
  });
}

export const createRollout = defineOperation<object, { dryRun?: boolean }, RolloutRequest>('createRollout', async ({ services: { rollouts }, body, query, principal, url }) => {
  const result = await rollouts.create(body, principal?.subject ?? 'unknown', { dryRun: query.dryRun === true });
  if (result.dryRun) return { status: 200, body: result.plan, auditTarget: `rollouts (dry run of ${body.policyAssignmentId})` };
  const location = new URL(`/api/v1/rollouts/${encodeURIComponent(result.rollout.id)}`, url).toString();
  return { status: 201, body: toRolloutView(result.rollout), headers: { location }, auditTarget: `rollouts/${result.rollout.id} (${body.policyAssignmentId})` };
});

export const listRollouts = defineOperation<object, { top: number; continuationToken?: string }>('listRollouts', async (ctx) => {
  const page = await ctx.services.rollouts.list(ctx.query.top, ctx.query.continuationToken);
  await auditRead(ctx, 'listRollouts', 'rollouts');
  return { status: 200, body: toCollection(page, ctx.url) };
});

export const getRollout = defineOperation<{ rolloutId: string }>('getRollout', async (ctx) => {
  const rollout = await ctx.services.rollouts.get(ctx.params.rolloutId);
  await auditRead(ctx, 'getRollout', `rollouts/${ctx.params.rolloutId}`);
  return { status: 200, body: rollout };
});

export const approveRolloutWave = defineOperation<{ rolloutId: string; wave: string }, object, { comment?: string }>('approveRolloutWave', async ({ services, params, principal, body }) => {
  const rollout = await services.rollouts.approve(params.rolloutId, params.wave, principal?.subject ?? 'unknown', body.comment);
  const comment = body.comment?.trim();
  return {
    status: 200,
    body: toRolloutView(rollout),
    auditTarget: `rollouts/${params.rolloutId}/waves/${params.wave}`,
    ...(comment ? { auditDetail: `comment: ${comment}` } : {}),
  };
});

export const controlRollout = defineOperation<{ rolloutId: string; action: RolloutAction }>('controlRollout', async ({ services, params, principal }) => {
  const rollout = await services.rollouts.command(params.rolloutId, params.action, principal?.subject ?? 'unknown');
  return { status: 200, body: toRolloutView(rollout), auditTarget: `rollouts/${params.rolloutId} (${params.action})` };
});

registerOperations([createRollout, listRollouts, getRollout, approveRolloutWave, controlRollout], runtime);
