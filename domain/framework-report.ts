/**
 * Requirement-level framework reports: for every requirement of a framework, how many clusters pass,
 * fail or are not assessed on it, computed from the clusters' latest control results.
 *
 * Per cluster, a requirement **fails** when any of its controls fails, **passes** when none fails and
 * at least one passes or is exempt, and is **not assessed** otherwise (its controls unknown or not
 * applicable, or no control covers it). A requirement's status is `failing` when any cluster fails it,
 * `passing` when at least one passes and none fails, `manual` when no control covers it, and
 * `not_assessed` otherwise. This is how Defender for Cloud reports regulatory compliance: an
 * exemption counts as met, manual requirements are shown but not judged.
 */
import type { ControlId } from './control-catalog.js';
import { toCsv } from './fleet-summary.js';
import { FRAMEWORK_IDS, frameworkRequirements, type FrameworkId } from './frameworks.js';
import type { ControlStatus, FrameworkPosture } from './model.js';

export type RequirementStatus = 'passing' | 'failing' | 'not_assessed' | 'manual';
export type ClusterStanding = 'passing' | 'failing' | 'not_assessed';

/** One cluster as a report sees it: its latest control results. */
export interface ReportCluster {
  readonly controls: readonly { readonly controlId: string; readonly status: ControlStatus }[];
}

export interface RequirementReportRow {
  readonly id: string;
  readonly policyMetadataName: string | null;
  /** From Azure Policy metadata (regulatory) or the document (seed); null when it could not be read. */
  readonly title: string | null;
  readonly controls: readonly ControlId[];
  readonly status: RequirementStatus;
  readonly clustersPassing: number;
  readonly clustersFailing: number;
  readonly clustersNotAssessed: number;
}

/** A cluster's standing on a requirement met by `controls` (see the module comment). */
export function requirementStanding(statuses: ReadonlyMap<string, ControlStatus>, controls: readonly string[]): ClusterStanding {
  let met = false;
  for (const id of controls) {
    const status = statuses.get(id);
    if (status === 'fail') return 'failing';
    if (status === 'pass' || status === 'exempt') met = true;
  }
  return met ? 'passing' : 'not_assessed';
}

/**
 * The report rows of one framework over `clusters`, one per requirement in the framework's order.
 * `titles` maps a requirement's `policyMetadataName` to its title; a regulatory requirement absent
 * from it gets `title: null`.
 */
export function frameworkReport(framework: FrameworkId, clusters: readonly ReportCluster[], titles: ReadonlyMap<string, string>): RequirementReportRow[] {
  return reportRows(framework, statusMapsOf(clusters), titles);
}

const statusMapsOf = (clusters: readonly ReportCluster[]): ReadonlyMap<string, ControlStatus>[] => clusters.map((c) => new Map(c.controls.map((r) => [r.controlId, r.status])));

function reportRows(framework: FrameworkId, statusMaps: readonly ReadonlyMap<string, ControlStatus>[], titles: ReadonlyMap<string, string>): RequirementReportRow[] {
  return frameworkRequirements(framework).map((requirement) => {
    let clustersPassing = 0;
    let clustersFailing = 0;
    if (requirement.controls.length > 0) {
      for (const statuses of statusMaps) {
        const standing = requirementStanding(statuses, requirement.controls);
        if (standing === 'passing') clustersPassing++;
        else if (standing === 'failing') clustersFailing++;
      }
    }
    const status: RequirementStatus =
      requirement.controls.length === 0 ? 'manual' : clustersFailing > 0 ? 'failing' : clustersPassing > 0 ? 'passing' : 'not_assessed';
    const title = requirement.policyMetadataName === null ? requirement.title : (titles.get(requirement.policyMetadataName) ?? null);
    return {
      id: requirement.id,
      policyMetadataName: requirement.policyMetadataName,
      title,
      controls: requirement.controls,
      status,
      clustersPassing,
      clustersFailing,
      clustersNotAssessed: statusMaps.length - clustersPassing - clustersFailing,
    };
  });
}

/** How many of a report's requirements have each status. */
export function postureOf(rows: readonly Pick<RequirementReportRow, 'status'>[]): FrameworkPosture {
  const count = (s: RequirementStatus): number => rows.filter((r) => r.status === s).length;
  return { requirements: rows.length, passing: count('passing'), failing: count('failing'), notAssessed: count('not_assessed'), manual: count('manual') };
}

/**
 * Every framework's posture folded one cluster at a time (so a caller can read the fleet page by page):
 * per requirement, how many clusters pass and fail it; at the end, the requirement statuses of each
 * framework's unfiltered report, counted.
 */
export class FrameworkPostureBuilder {
  private readonly frameworks = FRAMEWORK_IDS.map((id) => {
    const requirements = frameworkRequirements(id);
    return { id, requirements, passing: new Array<number>(requirements.length).fill(0), failing: new Array<number>(requirements.length).fill(0) };
  });

  add(cluster: ReportCluster): void {
    const statuses = new Map(cluster.controls.map((r) => [r.controlId, r.status]));
    for (const f of this.frameworks) {
      for (const [i, requirement] of f.requirements.entries()) {
        if (requirement.controls.length === 0) continue;
        const standing = requirementStanding(statuses, requirement.controls);
        if (standing === 'passing') f.passing[i] = (f.passing[i] ?? 0) + 1;
        else if (standing === 'failing') f.failing[i] = (f.failing[i] ?? 0) + 1;
      }
    }
  }

  build(): Record<FrameworkId, FrameworkPosture> {
    const out = {} as Record<FrameworkId, FrameworkPosture>;
    for (const f of this.frameworks) {
      const statuses = f.requirements.map((r, i): RequirementStatus =>
        r.controls.length === 0 ? 'manual' : (f.failing[i] ?? 0) > 0 ? 'failing' : (f.passing[i] ?? 0) > 0 ? 'passing' : 'not_assessed',
      );
      out[f.id] = postureOf(statuses.map((status) => ({ status })));
    }
    return out;
  }
}

/**
 * Every framework's posture over `clusters`: the requirement statuses of its unfiltered report,
 * counted. The finalizer stores it in the fleet summary, so the posture needs no report at read time.
 */
export function frameworkPostures(clusters: readonly ReportCluster[]): Record<FrameworkId, FrameworkPosture> {
  const builder = new FrameworkPostureBuilder();
  for (const c of clusters) builder.add(c);
  return builder.build();
}

export const FRAMEWORK_REPORT_CSV_HEADER = [
  'framework',
  'requirement',
  'policyMetadataName',
  'title',
  'controls',
  'status',
  'clustersPassing',
  'clustersFailing',
  'clustersNotAssessed',
] as const;

/** A framework report as CSV: a header, then one row per requirement; controls joined with `;`. */
export function frameworkReportToCsv(framework: FrameworkId, rows: readonly RequirementReportRow[]): string {
  return toCsv([
    FRAMEWORK_REPORT_CSV_HEADER,
    ...rows.map((r) => [framework, r.id, r.policyMetadataName, r.title, r.controls.join(';'), r.status, r.clustersPassing, r.clustersFailing, r.clustersNotAssessed]),
  ]);
}
