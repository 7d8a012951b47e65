/**
 * One line of a subscription's evidence blob: the facts a cluster was judged on in one run (the
 * connected-cluster properties the controls read, its extensions and Flux configurations, the policy
 * states the policy controls read, the exceptions applied) and the control results with their evidence.
 * Pure: the evidence service serializes these as NDJSON and gzips them.
 *
 * Records are self-describing (`schema`) so an auditor can read a blob years later without this code;
 * field order is fixed by construction, so the same inputs always give the same bytes (a redelivered
 * collect computes the same blob).
 */
import { createHash } from 'node:crypto';
import { listControls, type ControlDefinition } from './control-catalog.js';
import { policyStatesFor } from './evaluate-cluster.js';
import type { ClusterEvaluation, ClusterProperties, ClusterSnapshot, ControlException, ControlResult, ExtensionFact, FluxFact, PolicyStateFact } from './model.js';

export const EVIDENCE_RECORD_SCHEMA = 'arc-compliance/cluster-evidence@1';

/** A policy state as the evidence keeps it: ids, compliance state, timestamp, effect. */
export interface PolicyStateEvidence {
  readonly policyAssignmentId: string;
  readonly policyDefinitionId: string;
  readonly policySetDefinitionName: string | null;
  readonly policyDefinitionReferenceId: string | null;
  readonly complianceState: string;
  readonly effect: string;
  readonly timestamp: string | null;
}

export interface ClusterEvidenceRecord {
  readonly schema: typeof EVIDENCE_RECORD_SCHEMA;
  readonly runId: string;
  readonly evaluatedAt: string;
  readonly cluster: {
    readonly id: string;
    readonly name: string;
    readonly subscriptionId: string;
    readonly resourceGroup: string;
    readonly location: string;
    readonly kind: string | null;
    readonly tags: Readonly<Record<string, string>>;
    readonly properties: ClusterProperties;
  };
  /** Null when they could not be collected (the controls reading them report `unknown`). */
  readonly extensions: readonly ExtensionFact[] | null;
  readonly fluxConfigurations: readonly FluxFact[] | null;
  /** The states the catalog's policy controls read; null when policy states were not collected. */
  readonly policyStates: readonly PolicyStateEvidence[] | null;
  /** Exceptions that turned a failing control `exempt` in this evaluation. */
  readonly exceptionsApplied: readonly ControlException[];
  readonly score: number;
  readonly controls: readonly ControlResult[];
}

const POLICY_CONTROLS: readonly ControlDefinition[] = listControls().filter((c) => c.policy !== undefined);

function policyStateEvidence(s: PolicyStateFact): PolicyStateEvidence {
  return {
    policyAssignmentId: s.policyAssignmentId,
    policyDefinitionId: s.policyDefinitionId,
    policySetDefinitionName: s.policySetDefinitionName ?? null,
    policyDefinitionReferenceId: s.policyDefinitionReferenceId ?? null,
    complianceState: s.complianceState,
    effect: s.policyDefinitionAction,
    timestamp: s.timestamp ?? null,
  };
}

/** The policy states any control of the catalog reads, each once, in the order the snapshot holds them. */
function usedPolicyStates(states: readonly PolicyStateFact[]): PolicyStateFact[] {
  const used = new Set<PolicyStateFact>();
  for (const control of POLICY_CONTROLS) for (const s of policyStatesFor(control, states)) used.add(s);
  return states.filter((s) => used.has(s));
}

/** Exception ids named by `exception:<id>` reasons. */
function appliedExceptionIds(controls: readonly ControlResult[]): Set<string> {
  const ids = new Set<string>();
  for (const c of controls) if (c.reason?.startsWith('exception:') === true) ids.add(c.reason.slice('exception:'.length));
  return ids;
}

/**
 * The evidence record of one cluster's evaluation. `exceptions` are the exceptions active in the run;
 * only those the evaluation applied are kept.
 */
export function buildClusterEvidence(snapshot: ClusterSnapshot, evaluation: ClusterEvaluation, exceptions: readonly ControlException[]): ClusterEvidenceRecord {
  const applied = appliedExceptionIds(evaluation.controls);
  return {
    schema: EVIDENCE_RECORD_SCHEMA,
    runId: evaluation.runId,
    evaluatedAt: evaluation.evaluatedAt,
    cluster: {
      id: snapshot.id,
      name: snapshot.name,
      subscriptionId: snapshot.subscriptionId.toLowerCase(),
      resourceGroup: snapshot.resourceGroup,
      location: snapshot.location,
      kind: snapshot.kind ?? null,
      tags: snapshot.tags,
      properties: snapshot.properties,
    },
    extensions: snapshot.extensions,
    fluxConfigurations: snapshot.fluxConfigurations,
    policyStates: snapshot.policyStates === null ? null : usedPolicyStates(snapshot.policyStates).map(policyStateEvidence),
    exceptionsApplied: exceptions.filter((e) => applied.has(e.id)),
    score: evaluation.score,
    controls: evaluation.controls,
  };
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Reads one NDJSON line back; undefined when it is not a cluster evidence record (the exporter skips
 * nothing silently: it counts and reports such lines).
 */
export function parseClusterEvidence(line: string): ClusterEvidenceRecord | undefined {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (!isObject(v) || v['schema'] !== EVIDENCE_RECORD_SCHEMA || typeof v['runId'] !== 'string' || typeof v['evaluatedAt'] !== 'string') return undefined;
  const cluster = v['cluster'];
  if (!isObject(cluster) || typeof cluster['id'] !== 'string' || typeof cluster['name'] !== 'string' || typeof cluster['subscriptionId'] !== 'string' || typeof cluster['location'] !== 'string' || typeof cluster['resourceGroup'] !== 'string') return undefined;
  const controls = v['controls'];
  if (!Array.isArray(controls)) return undefined;
  for (const c of controls as unknown[]) {
    if (!isObject(c) || typeof c['controlId'] !== 'string' || typeof c['status'] !== 'string' || typeof c['severity'] !== 'string' || typeof c['evidence'] !== 'string') return undefined;
  }
  return v as unknown as ClusterEvidenceRecord;
}

/**
 * Version of the control catalog the run judged against: a content hash of every control definition
 * (ids, severities, policy sources, framework references), so any change to what a control means
 * changes the version recorded in the manifest.
 */
export const CATALOG_VERSION: string = `sha256:${createHash('sha256').update(JSON.stringify(listControls())).digest('hex').slice(0, 16)}`;
