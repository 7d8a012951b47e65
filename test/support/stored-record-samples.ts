/**
 * One sample of every stored record kind, written through the real Table adapters and read back
 * through them: the rolling-deployment test freezes what a release writes (`test/fixtures/stored-records/`)
 * and proves every later release still reads each frozen fixture to the same value.
 *
 * Samples fill every optional field, so a reader that loses one shows up as a changed read.
 */
import { TableControlPlaneEventRepository } from '../../adapters/storage/table-control-plane-repository.js';
import type { ControlPlaneEvent } from '../../domain/control-plane-events.js';
import { TableClient } from '@azure/data-tables';
import { TableStore, tableClientFactory } from '../../adapters/storage/table-store.js';
import { TableRunRepository } from '../../adapters/storage/table-run-repository.js';
import { TableClusterStateRepository } from '../../adapters/storage/table-cluster-state-repository.js';
import { TableHistoryRepository } from '../../adapters/storage/table-history-repository.js';
import { TableSummaryRepository } from '../../adapters/storage/table-summary-repository.js';
import { TableExceptionRepository } from '../../adapters/storage/table-exception-repository.js';
import { TableAuditLog } from '../../adapters/storage/table-audit-log.js';
import { TableRemediationRepository } from '../../adapters/storage/table-remediation-repository.js';
import { TableRolloutRepository } from '../../adapters/storage/table-rollout-repository.js';
import {
  TableInboundMessageIdStore,
  TableWebhookDeliveryRepository,
  TableWebhookSubscriptionRepository,
  WebhookTables,
} from '../../adapters/storage/table-webhook-store.js';
import { TableServiceNowWatermarks } from '../../adapters/webhooks/table-servicenow-watermarks.js';
import { storedRecordReader, type StoredRecordReader } from '../../adapters/storage/records/stored-record-reader.js';
import type { ClusterState, EvaluationRun } from '../../application/ports.js';
import type { ControlException, FleetSummary } from '../../domain/model.js';
import type { Rollout, RolloutEvent } from '../../domain/rollout-model.js';
import type { WebhookDelivery, WebhookSubscription } from '../../domain/webhook-subscription.js';

export const SAMPLE_SUB = '00000000-0000-0000-0000-0000000000aa';
const CLUSTER_ID = `/subscriptions/${SAMPLE_SUB}/resourceGroups/rg-edge/providers/Microsoft.Kubernetes/connectedClusters/store-0042`;

export interface SampleRepositories {
  readonly runs: TableRunRepository;
  readonly clusters: TableClusterStateRepository;
  readonly history: TableHistoryRepository;
  readonly summaries: TableSummaryRepository;
  readonly exceptions: TableExceptionRepository;
  readonly audit: TableAuditLog;
  readonly remediations: TableRemediationRepository;
  readonly rollouts: TableRolloutRepository;
  readonly webhooks: TableWebhookSubscriptionRepository;
  readonly deliveries: TableWebhookDeliveryRepository;
  readonly inbound: TableInboundMessageIdStore;
  readonly watermarks: TableServiceNowWatermarks;
  readonly controlPlane: TableControlPlaneEventRepository;
}

/** `records` receives every read (and every report of an invalid record); default the app's reader. */
export async function openSampleRepositories(connectionString: string, tablePrefix: string, records: StoredRecordReader = storedRecordReader): Promise<SampleRepositories> {
  const store = await TableStore.open({ connectionString }, { tablePrefix, records });
  const webhookTables = await WebhookTables.open({ connectionString }, { tablePrefix, records });
  return {
    runs: new TableRunRepository(store),
    clusters: new TableClusterStateRepository(store, { listCacheMs: 0 }),
    history: new TableHistoryRepository(store),
    summaries: new TableSummaryRepository(store, { latestCacheMs: 0 }),
    exceptions: new TableExceptionRepository(store),
    audit: new TableAuditLog(store),
    remediations: new TableRemediationRepository(store),
    // Locks claimed at a fixed time, so that what a release writes is the same on every run.
    rollouts: await TableRolloutRepository.open({ connectionString }, { tablePrefix, records, now: () => new Date('2026-05-02T08:00:00.000Z') }),
    webhooks: new TableWebhookSubscriptionRepository(webhookTables),
    deliveries: new TableWebhookDeliveryRepository(webhookTables),
    inbound: new TableInboundMessageIdStore(webhookTables),
    watermarks: await TableServiceNowWatermarks.open({ connectionString }, { tablePrefix, records }),
    controlPlane: await TableControlPlaneEventRepository.open(store),
  };
}

// ---------------------------------------------------------------------------------------------
// The samples
// ---------------------------------------------------------------------------------------------

const run: EvaluationRun = {
  id: 'run-7f3c',
  trigger: 'timer',
  status: 'partial',
  requestedBy: 'timer',
  createdAt: '2026-05-01T02:00:00.000Z',
  startedAt: '2026-05-01T02:00:01.000Z',
  completedAt: '2026-05-01T02:20:00.000Z',
  subscriptionsTotal: 3,
  subscriptionsSucceeded: 2,
  subscriptionsFailed: 1,
  failures: [{ subscriptionId: '00000000-0000-0000-0000-0000000000bb', error: 'AuthorizationFailed: no read access', at: '2026-05-01T02:05:00.000Z' }],
  clustersEvaluated: 41,
  clustersIncomplete: 2,
  eventsNotPublished: 1,
  evaluationCompletedNotPublished: true,
  subscriptionsNotDiscovered: [{ subscriptionId: '00000000-0000-0000-0000-0000000000cc', clusters: 4 }],
  scope: 'partial-estate',
  scopeSubscriptionIds: [SAMPLE_SUB, '00000000-0000-0000-0000-0000000000bb', '00000000-0000-0000-0000-0000000000dd'],
};

const clusterState: ClusterState = {
  id: CLUSTER_ID,
  name: 'store-0042',
  subscriptionId: SAMPLE_SUB,
  resourceGroup: 'rg-edge',
  location: 'westeurope',
  kind: 'ProvisionedCluster',
  tags: { environment: 'prod', 'cost-center': '4711' },
  environment: 'prod',
  distribution: 'k3s',
  kubernetesVersion: '1.30.4',
  connectivityStatus: 'Connected',
  evaluation: {
    clusterId: CLUSTER_ID.toLowerCase(),
    evaluatedAt: '2026-05-01T02:03:00.000Z',
    runId: 'run-7f3c',
    controls: [
      { controlId: 'ARC-AC-01', status: 'fail', severity: 'high', evidence: 'aadProfile.enableAzureRBAC is false', reason: 'misconfigured' },
      {
        controlId: 'ARC-PL-02',
        status: 'fail',
        severity: 'medium',
        evidence: '2 pods run privileged',
        offenders: { items: ['kube-system/pod/a', 'default/pod/b'], total: 2 },
      },
      { controlId: 'ARC-OP-01', status: 'exempt', severity: 'low', evidence: 'waived', reason: 'exception:ex-1' },
      { controlId: 'ARC-AC-04', status: 'pass', severity: 'high', evidence: 'workload identity enabled' },
    ],
    score: 61.5,
    failedControls: ['ARC-AC-01', 'ARC-PL-02'],
  },
  stale: true,
  lastSeenAt: '2026-05-01T02:03:00.000Z',
};

const summary: FleetSummary = {
  runId: 'run-7f3c',
  generatedAt: '2026-05-01T02:20:00.000Z',
  totals: { clusters: 41, compliant: 30, noncompliant: 11, stale: 4, averageScore: 87.2 },
  perControl: { 'ARC-AC-01': { pass: 30, fail: 11, unknown: 0, not_applicable: 0, exempt: 0 } },
  perSubscription: { [SAMPLE_SUB]: { clusters: 41, compliant: 30, noncompliant: 11, stale: 4, averageScore: 87.2 } },
};

const exception: ControlException = {
  id: 'ex-1',
  controlId: 'ARC-OP-01',
  scope: `/subscriptions/${SAMPLE_SUB}/resourcegroups/rg-edge`,
  justification: 'Vendor appliance, replaced in Q3',
  ticket: 'CHG0030001',
  createdBy: 'oid-1',
  createdAt: '2026-04-01T00:00:00.000Z',
  expiresAt: '2027-01-01T00:00:00.000Z',
};

const assignment = {
  id: `/subscriptions/${SAMPLE_SUB}/providers/Microsoft.Authorization/policyAssignments/k8s-baseline`,
  name: 'k8s-baseline',
  scope: `/subscriptions/${SAMPLE_SUB}`,
  policyDefinitionId: '/providers/Microsoft.Authorization/policySetDefinitions/a8640138-9b0a-4a28-b8cb-1666c838647d',
  displayName: 'Kubernetes baseline',
  enforcementMode: 'Default',
  parameters: { effect: { value: 'Audit' } },
  notScopes: [],
};

const rollout: Rollout = {
  id: 'ro-8236813999999999-abc123',
  policyAssignmentId: assignment.id,
  createdBy: 'oid-1',
  createdAt: '2026-05-02T08:00:00.000Z',
  updatedAt: '2026-05-02T09:00:00.000Z',
  state: 'awaiting_approval',
  gates: { maxNonCompliant: 0, bakeMinutes: 60, requireApproval: true, maxEvidenceAgeHours: 24 },
  autoRollback: true,
  snapshot: assignment,
  waves: [
    {
      name: 'canary',
      locations: ['westeurope'],
      resourceGroups: [],
      mechanisms: ['locationOverride'],
      state: 'awaiting_approval',
      clusters: [CLUSTER_ID.toLowerCase()],
      nonCompliant: 0,
      reasons: ['approval required'],
      enforcement: { [CLUSTER_ID.toLowerCase()]: assignment.id.toLowerCase() },
      baseline: { [CLUSTER_ID.toLowerCase()]: [] },
      desired: { parent: { ...assignment, overrides: [{ kind: 'policyEffect', value: 'Deny', selectors: [{ kind: 'resourceLocation', in: ['westeurope'] }] }] }, children: [] },
      gatePassedAt: '2026-05-02T08:30:00.000Z',
    },
  ],
  currentWave: 0,
  cursor: undefined,
  lastHandled: { wave: 0, step: 'gate', attempt: 1 },
  eventCount: 2,
};

const rolloutEvents: RolloutEvent[] = [
  { seq: 1, at: '2026-05-02T08:00:00.000Z', type: 'created', actor: 'oid-1', message: 'Rollout created with 1 wave.' },
  { seq: 2, at: '2026-05-02T08:30:00.000Z', type: 'gate-blocked', wave: 0, message: 'Wave canary awaits approval.' },
];

const webhook: WebhookSubscription = {
  id: 'wh-1',
  url: 'https://hooks.example.com/arc',
  events: ['cluster.compliance.changed', 'evaluation.completed'],
  format: 'standard',
  filters: { subscriptionIds: [SAMPLE_SUB], minimumSeverity: 'medium' },
  description: 'SOC pipeline',
  enabled: false,
  disabledReason: 'receiver answered 410',
  disabledAt: '2026-05-03T00:00:00.000Z',
  createdAt: '2026-04-01T00:00:00.000Z',
  createdBy: 'oid-1',
  secretRotatedAt: '2026-04-15T00:00:00.000Z',
  secrets: { current: 'v1.protected-current', previous: 'v1.protected-previous', previousExpiresAt: '2026-04-16T00:00:00.000Z' },
};

const delivery: WebhookDelivery = {
  id: '8236813999999999-0001',
  webhookId: 'wh-1',
  eventId: 'evt-1',
  eventType: 'evaluation.completed',
  createdAt: '2026-05-01T02:20:00.000Z',
  status: 'retrying',
  attempts: [{ attempt: 1, at: '2026-05-01T02:20:01.000Z', outcome: 'failed', statusCode: 503, responseExcerpt: 'busy', nextAttemptAt: '2026-05-01T02:21:01.000Z' }],
  nextAttemptAt: '2026-05-01T02:21:01.000Z',
  reason: 'receiver busy',
  event: JSON.stringify({ id: 'evt-1', type: 'evaluation.completed', time: '2026-05-01T02:20:00.000Z', data: { runId: 'run-7f3c' } }),
  redeliveryOf: '8236813999999998-0001',
};

export interface RecordSample {
  /** Stable name of the stored record kind (the fixture file name). */
  readonly kind: string;
  /** Writes the sample through the adapters. */
  write(r: SampleRepositories): Promise<void>;
  /** Reads it back through every read path of the adapters; the value is compared as JSON. */
  read(r: SampleRepositories): Promise<unknown>;
}

const json = (value: unknown): unknown => JSON.parse(JSON.stringify(value ?? null)) as unknown;

const CONTROL_PLANE_CLUSTER = '/subscriptions/00000000-0000-0000-0000-0000000000aa/resourcegroups/rg-edge/providers/microsoft.kubernetes/connectedclusters/edge-01';
const CONTROL_PLANE_EVENT: ControlPlaneEvent = {
  eventDataId: 'a1b2c3d4-0000-4000-8000-000000000001',
  kind: 'break-glass-credential',
  operation: 'Microsoft.HybridContainerService/provisionedClusterInstances/listAdminKubeconfig/action',
  status: 'Succeeded',
  caller: 'oncall@contoso.example',
  callerAppId: '04b07795-8ddb-461a-bbee-02f9e1bf7b46',
  eventTimestamp: '2026-05-01T10:00:00.000Z',
  submissionTimestamp: '2026-05-01T10:00:13.000Z',
  subscriptionId: '00000000-0000-0000-0000-0000000000aa',
  resourceGroup: 'rg-edge',
  resourceId: '/subscriptions/00000000-0000-0000-0000-0000000000aa/resourceGroups/rg-edge/providers/Microsoft.Kubernetes/connectedClusters/edge-01/providers/Microsoft.HybridContainerService/provisionedClusterInstances/default',
  clusterId: CONTROL_PLANE_CLUSTER,
  clusterName: 'edge-01',
  severity: 'high',
  correlationId: 'c0000000-0000-4000-8000-000000000001',
  clientIpAddress: '203.0.113.10',
};
const CONTROL_PLANE_GROUP_EVENT: ControlPlaneEvent = {
  eventDataId: 'a1b2c3d4-0000-4000-8000-000000000002',
  kind: 'role-assignment-written',
  operation: 'Microsoft.Authorization/roleAssignments/write',
  status: 'Succeeded',
  caller: 'identity-team@contoso.example',
  eventTimestamp: '2026-05-01T11:00:00.000Z',
  subscriptionId: '00000000-0000-0000-0000-0000000000aa',
  resourceGroup: 'rg-edge',
  resourceId: '/subscriptions/00000000-0000-0000-0000-0000000000aa/resourceGroups/rg-edge/providers/Microsoft.Authorization/roleAssignments/r1',
  clusterIds: [CONTROL_PLANE_CLUSTER],
  severity: 'medium',
};

export const RECORD_SAMPLES: readonly RecordSample[] = [
  {
    kind: 'run',
    write: (r) => r.runs.update(run),
    read: async (r) => ({ get: json(await r.runs.get(run.id)), list: json((await r.runs.list(10)).items) }),
  },
  {
    kind: 'run-outcome',
    write: async (r) => {
      await r.runs.recordSubscriptionOutcome(run.id, SAMPLE_SUB, { ok: true, clusters: 41, clustersIncomplete: 2, eventsNotPublished: 1 }, '2026-05-01T02:04:00.000Z');
      await r.runs.recordSubscriptionOutcome(run.id, '00000000-0000-0000-0000-0000000000bb', { ok: false, error: 'AuthorizationFailed: no read access' }, '2026-05-01T02:05:00.000Z');
    },
    read: async (r) => ({
      ok: json(await r.runs.getSubscriptionOutcome(run.id, SAMPLE_SUB)),
      failed: json(await r.runs.getSubscriptionOutcome(run.id, '00000000-0000-0000-0000-0000000000bb')),
      subscriptions: await r.runs.subscriptionsWithOutcome(run.id),
    }),
  },
  {
    kind: 'run-outcome-count',
    write: async (r) => {
      await r.runs.countSubscriptionOutcome(run.id, SAMPLE_SUB);
      await r.runs.countSubscriptionOutcome(run.id, '00000000-0000-0000-0000-0000000000bb');
      await r.runs.countSubscriptionOutcome(run.id, SAMPLE_SUB);
    },
    read: async (r) => ({ count: await r.runs.countSubscriptionOutcomes(run.id) }),
  },
  {
    kind: 'cluster-state',
    write: (r) => r.clusters.upsertMany([clusterState]),
    read: async (r) => ({
      get: json(await r.clusters.get(SAMPLE_SUB, 'rg-edge', 'store-0042')),
      bySubscription: json(await r.clusters.listBySubscription(SAMPLE_SUB)),
      // Through the index (environment, failing control, stale) and the list columns.
      byEnvironment: json((await r.clusters.list({ environment: 'prod', top: 10 })).items.map((s) => s.id)),
      byFailingControl: json((await r.clusters.listSummaries({ failingControlId: 'ARC-PL-02', top: 10 })).items),
      stale: json((await r.clusters.listSummaries({ stale: true, location: 'westeurope', top: 10 })).items.map((s) => s.id)),
      summaryInputs: json((await r.clusters.listSummaryInputs(10, undefined)).items),
    }),
  },
  {
    kind: 'history-entry',
    write: (r) =>
      r.history.appendMany([
        {
          clusterId: CLUSTER_ID.toLowerCase(),
          runId: 'run-7f3c',
          evaluatedAt: '2026-05-01T02:03:00.000Z',
          score: 61.5,
          statuses: { 'ARC-AC-01': 'fail', 'ARC-PL-02': 'fail', 'ARC-OP-01': 'exempt', 'ARC-AC-04': 'pass' },
          drift: [{ controlId: 'ARC-AC-01', from: 'pass', to: 'fail' }],
        },
      ]),
    read: async (r) => json(await r.history.list(CLUSTER_ID, '2026-04-01T00:00:00.000Z', '2026-06-01T00:00:00.000Z')),
  },
  {
    kind: 'summary',
    write: (r) => r.summaries.put(summary),
    read: async (r) => ({ latest: json(await r.summaries.getLatest()), trends: json(await r.summaries.listTrends('2026-04-01T00:00:00.000Z')) }),
  },
  {
    kind: 'trend-slices',
    write: (r) =>
      r.summaries.putTrendSlices({
        runId: summary.runId,
        generatedAt: summary.generatedAt,
        tagKeysLeftOut: ['site'],
        groups: [
          { subscriptionId: SAMPLE_SUB, environment: 'prod', location: 'westeurope', tags: { environment: 'Prod', team: 'edge' }, clusters: 2, noncompliant: 1, scoreSum: 170.5, failingByControl: { 'ARC-AC-01': 1 } },
          { subscriptionId: SAMPLE_SUB, environment: null, location: 'eastus', tags: {}, clusters: 1, noncompliant: 0, scoreSum: 100, failingByControl: {} },
        ],
      }),
    read: async (r) => json(await r.summaries.listTrendSlices('2026-04-01T00:00:00.000Z')),
  },
  {
    kind: 'exception',
    write: (r) => r.exceptions.create(exception),
    read: async (r) => ({
      get: json(await r.exceptions.get(exception.id)),
      active: json(await r.exceptions.listActive('2026-06-01T00:00:00.000Z')),
      page: json((await r.exceptions.listPage({ at: '2026-06-01T00:00:00.000Z', top: 10 })).items),
    }),
  },
  {
    kind: 'audit-record',
    write: (r) =>
      r.audit.append({
        id: 'audit-1',
        at: '2026-05-01T09:00:00.000Z',
        requestId: 'req-1',
        callerObjectId: 'oid-1',
        callerAppId: 'app-1',
        roles: ['Compliance.Read', 'Exceptions.Write'],
        operation: 'createException',
        target: '/api/v1/exceptions/ex-1',
        outcome: 'succeeded',
        detail: 'created',
      }),
    read: async (r) => json((await r.audit.list(10)).items),
  },
  {
    kind: 'remediation',
    write: async (r) => {
      await r.remediations.create({
        id: 'rem-1',
        controlId: 'ARC-PL-02',
        requestedBy: 'oid-1',
        createdAt: '2026-05-01T10:00:00.000Z',
        clusterIds: [CLUSTER_ID.toLowerCase(), `${CLUSTER_ID.toLowerCase()}-b`],
        tasks: [
          { subscriptionId: SAMPLE_SUB, armId: `/subscriptions/${SAMPLE_SUB}/providers/Microsoft.PolicyInsights/remediations/rem-1-0`, clusters: { offset: 0, count: 1 } },
          { subscriptionId: SAMPLE_SUB, armId: undefined, error: 'NotRemediable', clusters: { offset: 1, count: 1 } },
        ],
      });
      await r.remediations.recordPollingStopped('rem-1', { at: '2026-05-02T10:00:00.000Z', reason: 'gave up after 24 h' });
    },
    read: async (r) => json(await r.remediations.get('rem-1')),
  },
  {
    kind: 'rollout',
    write: async (r) => {
      await r.rollouts.claimAssignment(rollout.policyAssignmentId, rollout.id, async () => false);
      await r.rollouts.create(rollout, rolloutEvents);
    },
    read: async (r) => ({
      get: json((await r.rollouts.get(rollout.id))?.rollout),
      list: json((await r.rollouts.list(10)).items),
      active: json((await r.rollouts.listActive()).map((s) => s.rollout.id)),
      events: json(await r.rollouts.events(rollout.id)),
    }),
  },
  {
    kind: 'webhook',
    write: (r) => r.webhooks.create(webhook),
    read: async (r) => ({ get: json(await r.webhooks.get(webhook.id)), all: json(await r.webhooks.listAll()) }),
  },
  {
    kind: 'webhook-delivery',
    write: (r) => r.deliveries.create(delivery),
    read: async (r) => ({ get: json(await r.deliveries.get(delivery.webhookId, delivery.id)), list: json((await r.deliveries.list(delivery.webhookId, 10)).items) }),
  },
  {
    kind: 'inbound-claim',
    write: async (r) => {
      await r.inbound.claim('servicenow-change', 'sys-id-1', '2026-05-01T11:00:00.000Z');
      // A delivery-attempt claim names the queue message that made it.
      await r.inbound.claim('webhook-attempt', 'wh-1:8236813999999999-0001:1', '2026-05-01T11:00:01.000Z', '0f8fad5b-d9cb-469f-a165-70867728950e');
    },
    // The once-only check reads the stored claim: a second claim of the id is refused.
    read: async (r) => ({ claimedAgain: await r.inbound.claim('servicenow-change', 'sys-id-1', '2026-05-01T12:00:00.000Z') }),
  },
  {
    kind: 'servicenow-watermark',
    write: (r) => r.watermarks.advance('incident', `${CLUSTER_ID.toLowerCase()}#ARC-AC-01`, '2026-05-01T02:03:00.000Z'),
    read: async (r) => ({ get: (await r.watermarks.get('incident', `${CLUSTER_ID.toLowerCase()}#ARC-AC-01`)) ?? null }),
  },
  {
    kind: 'control-plane-event',
    write: async (r) => {
      await r.controlPlane.record(CONTROL_PLANE_EVENT);
      await r.controlPlane.markPublished(CONTROL_PLANE_EVENT);
      await r.controlPlane.record(CONTROL_PLANE_GROUP_EVENT);
    },
    read: async (r) => ({
      list: json((await r.controlPlane.list({ top: 10 })).items),
      cluster: json(await r.controlPlane.listForCluster(CONTROL_PLANE_CLUSTER, '2026-04-01T00:00:00.000Z', '2026-06-01T00:00:00.000Z')),
      again: json(await r.controlPlane.record(CONTROL_PLANE_EVENT)),
    }),
  },
  {
    kind: 'control-plane-watch',
    write: async (r) => {
      // Recovered: the last failure stays on record, before the last success.
      await r.controlPlane.saveWatchState({
        subscriptionId: '00000000-0000-0000-0000-0000000000aa',
        coverage: { from: '2026-04-01T00:00:00.000Z', to: '2026-05-01T12:00:00.000Z' },
        lastAttemptAt: '2026-05-01T12:00:00.000Z',
        lastSuccessAt: '2026-05-01T12:00:00.000Z',
        lastFailure: { at: '2026-05-01T11:45:00.000Z', stage: 'read', code: 'HTTP 500', message: 'Activity Log not read: DependencyError: activityLogs.list failed (500)' },
      });
      // Failing since its first attempt: never read.
      await r.controlPlane.saveWatchState({
        subscriptionId: '00000000-0000-0000-0000-0000000000bb',
        lastAttemptAt: '2026-05-01T12:00:00.000Z',
        lastFailure: { at: '2026-05-01T12:00:00.000Z', stage: 'read', code: 'AuthorizationFailed', message: 'Activity Log not read: the client has no authorization', hint: 'grant Reader at the fleet scope' },
      });
    },
    read: async (r) => ({ get: json(await r.controlPlane.getWatchState('00000000-0000-0000-0000-0000000000AA')), all: json(await r.controlPlane.listWatchStates()) }),
  },
  {
    kind: 'control-plane-extension-types',
    write: (r) => r.controlPlane.recordExtensionTypes('00000000-0000-0000-0000-0000000000aa', new Map([[CONTROL_PLANE_CLUSTER, new Map([['azurepolicy', 'Microsoft.PolicyInsights'], ['ClusterMonitor', 'azuremonitor-containers']])]])),
    read: async (r) => json(Object.fromEntries([...(await r.controlPlane.extensionTypes('00000000-0000-0000-0000-0000000000aa'))].map(([c, m]) => [c, Object.fromEntries(m)]))),
  },
];

// ---------------------------------------------------------------------------------------------
// Raw entities
// ---------------------------------------------------------------------------------------------

/** A stored entity as the service holds it, without service-maintained fields (ETag, Timestamp). */
export interface FrozenEntity {
  /** Table name without the prefix. */
  readonly table: string;
  readonly entity: Readonly<Record<string, unknown>>;
}

export interface StoredRecordFixture {
  readonly kind: string;
  /** Which release wrote these entities. */
  readonly writtenBy: string;
  readonly entities: readonly FrozenEntity[];
  /** What `read` returned for them when they were frozen. */
  readonly read: unknown;
}

/** Every entity in every table of the prefix, sorted by table and keys. */
export async function dumpEntities(connectionString: string, tablePrefix: string): Promise<FrozenEntity[]> {
  const store = await TableStore.open({ connectionString }, { tablePrefix });
  const make = tableClientFactory({ connectionString }, tablePrefix);
  const out: FrozenEntity[] = [];
  for await (const t of store.service.listTables()) {
    const name = t.name;
    if (name === undefined || !name.startsWith(tablePrefix)) continue;
    const client: TableClient = make(name.slice(tablePrefix.length));
    for await (const e of client.listEntities<Record<string, unknown>>()) {
      const { etag: _etag, timestamp: _timestamp, ['odata.metadata']: _m, ...entity } = e as Record<string, unknown>;
      out.push({ table: name.slice(tablePrefix.length), entity });
    }
  }
  const key = (f: FrozenEntity): string => `${f.table}\u0000${String(f.entity['partitionKey'])}\u0000${String(f.entity['rowKey'])}`;
  return out.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}

/** Writes frozen entities as they are (the raw properties, no adapter involved). */
export async function restoreEntities(connectionString: string, tablePrefix: string, entities: readonly FrozenEntity[]): Promise<void> {
  const make = tableClientFactory({ connectionString }, tablePrefix);
  for (const f of entities) {
    const client = make(f.table);
    await client.createTable();
    await client.upsertEntity(f.entity as { partitionKey: string; rowKey: string }, 'Replace');
  }
}
