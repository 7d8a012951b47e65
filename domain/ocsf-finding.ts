/**
 * OCSF 1.8.0 Compliance Findings (class 2003) for control results, with the `cloud` profile: what the
 * findings export and `format: "ocsf"` webhooks send to a SIEM. Pure and deterministic: the same run,
 * cluster and control always give the same finding (its `finding_info.uid` included).
 *
 * Status mapping (documented in docs/api.md#findings-in-ocsf):
 *
 * | control status | `compliance.status_id` / `status` | finding `status_id` / `status` |
 * | --- | --- | --- |
 * | pass | 1 Pass | 4 Resolved |
 * | fail | 3 Fail | 1 New |
 * | unknown | 2 Warning ("did not yield a result due to missing information") | 1 New |
 * | not_applicable | 99 Other, `Not Applicable` | 4 Resolved |
 * | exempt | 99 Other, `Exempt` | 3 Suppressed |
 *
 * The finding's own `status_id` is the workflow state OCSF defines for findings (New, Suppressed,
 * Resolved…): a passing or inapplicable check needs no work, a waived one is suppressed, anything else
 * is new. Severity: high → 4 High, medium → 3 Medium, low → 2 Low.
 */
import { createHash } from 'node:crypto';
import { getControl, type ControlDefinition } from './control-catalog.js';
import { controlMappings, listFrameworks } from './frameworks.js';
import type { ControlStatus, Severity } from './model.js';
import type { ClusterComplianceChangedData } from './webhook-events.js';

export const OCSF_VERSION = '1.8.0';
export const COMPLIANCE_FINDING_CLASS_UID = 2003;
export const FINDINGS_CATEGORY_UID = 2;
/** `activity_id` 1 (Create): each run creates its findings anew. */
const ACTIVITY_CREATE = 1;

/** The product named in every finding's `metadata.product`. */
export interface OcsfProduct {
  readonly name: string;
  readonly vendorName: string;
  readonly version: string;
}

/** One control result of one cluster in one run: everything a finding is built from. */
export interface FindingSource {
  readonly runId: string;
  /** ISO time of the evaluation (the run's start). */
  readonly evaluatedAt: string;
  readonly cluster: {
    readonly id: string;
    readonly name: string;
    readonly subscriptionId: string;
    readonly resourceGroup: string;
    /** Absent on events published before they carried it (`cloud.region` is then left out). */
    readonly location?: string | undefined;
  };
  readonly control: {
    readonly controlId: string;
    readonly status: ControlStatus;
    readonly severity: Severity;
    readonly evidence: string;
    readonly reason?: string | undefined;
  };
}

/** The standards and requirements a control maps to, as `compliance.standards` / `requirements` read them. */
export interface ControlFrameworkMapping {
  readonly standards: readonly string[];
  readonly requirements: readonly string[];
}

/**
 * The one place findings learn which standards and requirements a control maps to: the generated and
 * hand-written framework mappings (`frameworks.ts`). A standard is listed when the control meets at
 * least one of its requirements; requirements read `<framework title> <requirement id>`, as OCSF's own
 * example (`NIST.800-53.r5 AU-10`) names the standard before the requirement.
 */
export function frameworkMappingFor(control: ControlDefinition): ControlFrameworkMapping {
  const mappings = controlMappings(control.id);
  const standards: string[] = [];
  const requirements: string[] = [];
  for (const framework of listFrameworks()) {
    const ids = mappings.requirements[framework.id];
    if (ids.length === 0) continue;
    const title = framework.title.includes(framework.version) ? framework.title : `${framework.title} ${framework.version}`;
    standards.push(title);
    for (const id of ids) requirements.push(`${title} ${id}`);
  }
  return { standards, requirements };
}

const SEVERITY_IDS: Readonly<Record<Severity, { id: number; caption: string }>> = Object.freeze({
  low: { id: 2, caption: 'Low' },
  medium: { id: 3, caption: 'Medium' },
  high: { id: 4, caption: 'High' },
});

interface StatusMapping {
  readonly compliance: { readonly id: number; readonly caption: string };
  readonly finding: { readonly id: number; readonly caption: string };
}

/** See the table in the module comment. */
export const STATUS_MAPPING: Readonly<Record<ControlStatus, StatusMapping>> = Object.freeze({
  pass: { compliance: { id: 1, caption: 'Pass' }, finding: { id: 4, caption: 'Resolved' } },
  fail: { compliance: { id: 3, caption: 'Fail' }, finding: { id: 1, caption: 'New' } },
  unknown: { compliance: { id: 2, caption: 'Warning' }, finding: { id: 1, caption: 'New' } },
  not_applicable: { compliance: { id: 99, caption: 'Not Applicable' }, finding: { id: 4, caption: 'Resolved' } },
  exempt: { compliance: { id: 99, caption: 'Exempt' }, finding: { id: 3, caption: 'Suppressed' } },
});

/** Deterministic per run, cluster (case-insensitive ARM id) and control. */
export function findingUid(runId: string, clusterId: string, controlId: string): string {
  return createHash('sha256').update(`${runId}\n${clusterId.toLowerCase()}\n${controlId}`).digest('hex');
}

/** An OCSF Compliance Finding as emitted (plain JSON). */
export type OcsfComplianceFinding = Readonly<Record<string, unknown>>;

/** The Compliance Finding of one control result. Throws for a control id the catalog does not know. */
export function toComplianceFinding(source: FindingSource, product: OcsfProduct): OcsfComplianceFinding {
  const { cluster, control } = source;
  const definition = getControl(control.controlId);
  if (definition === undefined) throw new Error(`unknown control ${control.controlId}`);
  const mapping = frameworkMappingFor(definition);
  const status = STATUS_MAPPING[control.status];
  const severity = SEVERITY_IDS[control.severity];
  const time = Date.parse(source.evaluatedAt);
  const statusDetails = [control.evidence, ...(control.reason !== undefined ? [`reason: ${control.reason}`] : [])].filter((s) => s !== '');
  return {
    activity_id: ACTIVITY_CREATE,
    activity_name: 'Create',
    category_uid: FINDINGS_CATEGORY_UID,
    category_name: 'Findings',
    class_uid: COMPLIANCE_FINDING_CLASS_UID,
    class_name: 'Compliance Finding',
    type_uid: COMPLIANCE_FINDING_CLASS_UID * 100 + ACTIVITY_CREATE,
    type_name: 'Compliance Finding: Create',
    time,
    severity_id: severity.id,
    severity: severity.caption,
    status_id: status.finding.id,
    status: status.finding.caption,
    message: `${definition.id} ${definition.title}: ${control.status} on ${cluster.name}`,
    metadata: {
      version: OCSF_VERSION,
      product: { name: product.name, vendor_name: product.vendorName, version: product.version },
      profiles: ['cloud'],
      correlation_uid: source.runId,
    },
    cloud: {
      provider: 'Azure',
      ...(cluster.location !== undefined ? { region: cluster.location } : {}),
      account: { uid: cluster.subscriptionId.toLowerCase(), type_id: 13, type: 'Azure Subscription' },
    },
    finding_info: {
      uid: findingUid(source.runId, cluster.id, definition.id),
      title: definition.title,
      desc: definition.description,
      created_time: time,
      types: [definition.category],
    },
    compliance: {
      control: definition.id,
      standards: mapping.standards,
      requirements: mapping.requirements,
      status_id: status.compliance.id,
      status: status.compliance.caption,
      ...(statusDetails.length > 0 ? { status_details: statusDetails } : {}),
      desc: definition.evidence,
    },
    remediation: { desc: definition.remediation.text },
    resources: [
      {
        uid: cluster.id,
        name: cluster.name,
        type: 'Microsoft.Kubernetes/connectedClusters',
        ...(cluster.location !== undefined ? { region: cluster.location } : {}),
        provider: 'Azure',
        group: { name: cluster.resourceGroup },
      },
    ],
  };
}

/**
 * The findings of a `cluster.compliance.changed` event's data: one per changed control, at its new
 * status (what a SIEM collector ingests from an `ocsf` webhook). Data that is not such an event gives none.
 */
export function ocsfFindingsOfComplianceChange(data: unknown, product: OcsfProduct): OcsfComplianceFinding[] {
  const d = data as Partial<ClusterComplianceChangedData> | null;
  if (d === null || typeof d !== 'object' || !Array.isArray(d.changes) || typeof d.clusterId !== 'string' || typeof d.runId !== 'string' || typeof d.evaluatedAt !== 'string') return [];
  const cluster = { id: d.clusterId, name: d.clusterName ?? d.clusterId, subscriptionId: d.subscriptionId ?? '', resourceGroup: d.resourceGroup ?? '', location: d.location };
  return d.changes
    .filter((c) => getControl(c.controlId) !== undefined)
    .map((c) => toComplianceFinding({ runId: d.runId as string, evaluatedAt: d.evaluatedAt as string, cluster, control: { controlId: c.controlId, status: c.to, severity: c.severity, evidence: c.evidence } }, product));
}
