/**
 * Frameworks and their requirement-level reports.
 *
 * A report judges every requirement of a framework over the latest results of the clusters that match
 * the filters (see `domain/framework-report.ts` for the rules). It reads the clusters' control statuses
 * through the repository's indexed listing, page by page (no evidence, no per-cluster request), so its
 * cost grows with the clusters in scope, and names the latest completed run. Unfiltered reports are
 * kept per run and instance (posture changes once per run; the latest summary, one cached point read,
 * says which run is current): the nine reports of a 10,000-cluster fleet otherwise read the whole
 * fleet nine times per visitor. The counts per status are also in the summary (`perFramework`). Requirement titles come
 * from Azure Policy metadata, read once and cached ({@link RequirementTitles}); a title that cannot be
 * read is null and the report is served all the same.
 */
import { deepFreeze } from '../domain/deep-freeze.js';
import { NotFoundError } from '../domain/errors.js';
import { frameworkReport, frameworkReportToCsv, type ReportCluster, type RequirementReportRow } from '../domain/framework-report.js';
import { frameworkRequirements, isAutomated, listFrameworks, type Framework, type FrameworkId } from '../domain/frameworks.js';
import type { ClusterControlStatusListing, ClusterQuery, SummaryRepository } from './ports.js';
import { silentLogger, type Logger } from './logger.js';

/** Where requirement titles come from: `Microsoft.PolicyInsights/policyMetadata`, every entry's name and title. */
export interface PolicyMetadataSource {
  /** Every policy metadata resource's name and title; rejects when they cannot be read. */
  listTitles(): Promise<ReadonlyMap<string, string>>;
}

/** How long a failed metadata read is remembered before the next report tries again. */
export const TITLE_RETRY_MS = 5 * 60_000;

/**
 * Requirement titles, read once from Policy metadata and kept for the life of the process (Microsoft
 * changes them with new initiative versions, which come with a new deployment of this app). Concurrent
 * callers share one read; after a failure, reports go without titles and the read is retried at most
 * once per {@link TITLE_RETRY_MS}.
 */
export class RequirementTitles {
  private titles: ReadonlyMap<string, string> | undefined;
  private pending: Promise<ReadonlyMap<string, string>> | undefined;
  private failedAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly source: PolicyMetadataSource | undefined,
    private readonly now: () => number = Date.now,
    private readonly log: Logger = silentLogger,
  ) {}

  async get(): Promise<ReadonlyMap<string, string>> {
    if (this.titles !== undefined) return this.titles;
    if (this.source === undefined || this.now() - this.failedAt < TITLE_RETRY_MS) return new Map();
    this.pending ??= this.source.listTitles().then(
      (titles) => {
        this.titles = titles;
        this.pending = undefined;
        return titles;
      },
      (err: unknown) => {
        this.failedAt = this.now();
        this.pending = undefined;
        this.log.warn('requirement titles could not be read from Azure Policy metadata; reports go without them', {
          error: err instanceof Error ? err.message : String(err),
        });
        return new Map<string, string>();
      },
    );
    return this.pending;
  }
}

export interface FrameworkView extends Framework {
  /** How many requirements the framework has. */
  readonly requirements: number;
  /** How many of them at least one control meets. */
  readonly automatedRequirements: number;
}

export interface FrameworkReportView {
  readonly framework: FrameworkId;
  readonly runId: string;
  readonly generatedAt: string;
  readonly requirements: readonly RequirementReportRow[];
}

export interface FrameworkReportFilters {
  readonly environment?: string | undefined;
  readonly subscriptionId?: string | undefined;
  readonly location?: string | undefined;
}

export interface FrameworkReportDependencies {
  readonly clusters: ClusterControlStatusListing;
  readonly summaries: Pick<SummaryRepository, 'getLatest'>;
  readonly titles: RequirementTitles;
}

const NO_TITLES: ReadonlyMap<string, string> = new Map();

/** Page size for reading the clusters of a report. */
const PAGE = 1000;

export class FrameworkReportService {
  private readonly views: readonly FrameworkView[] = listFrameworks().map((f) => {
    const requirements = frameworkRequirements(f.id);
    return Object.freeze({ ...f, requirements: requirements.length, automatedRequirements: requirements.filter(isAutomated).length });
  });

  /** Unfiltered rows (without titles) per framework of the run in `key`; a failed read is not kept. */
  private unfiltered: { readonly key: string; readonly rows: Promise<ReadonlyMap<FrameworkId, readonly RequirementReportRow[]>> } | undefined;

  /** The last unfiltered view served per framework, with what it was built from. */
  private readonly unfilteredViews = new Map<
    FrameworkId,
    { readonly key: string; readonly rows: readonly RequirementReportRow[]; readonly titles: ReadonlyMap<string, string>; readonly view: FrameworkReportView }
  >();

  constructor(private readonly deps: FrameworkReportDependencies) {}

  listFrameworks(): readonly FrameworkView[] {
    return this.views;
  }

  async getReport(framework: FrameworkId, filters: FrameworkReportFilters): Promise<FrameworkReportView> {
    const summary = await this.deps.summaries.getLatest();
    if (summary === undefined) throw new NotFoundError('No evaluation run has completed yet.', 'summary');
    const unfiltered = filters.environment === undefined && filters.subscriptionId === undefined && filters.location === undefined;
    if (!unfiltered) {
      const [clusters, titles] = await Promise.all([this.readClusters(filters), this.deps.titles.get()]);
      return { framework, runId: summary.runId, generatedAt: summary.generatedAt, requirements: frameworkReport(framework, clusters, titles) };
    }
    const key = `${summary.runId}|${summary.generatedAt}`;
    const [rows, titles] = await Promise.all([this.unfilteredRows(framework, key), this.deps.titles.get()]);
    // Titles are applied per title map: a metadata read that failed earlier may succeed since. The view
    // is kept per run and title map, frozen, so the HTTP layer serializes it (and hashes its ETag) once.
    // Every empty map (titles not readable, or none configured) titles the same: one identity for them.
    const titleSet = titles.size === 0 ? NO_TITLES : titles;
    const kept = this.unfilteredViews.get(framework);
    if (kept !== undefined && kept.key === key && kept.rows === rows && kept.titles === titleSet) return kept.view;
    const titled = rows.map((r) => (r.policyMetadataName === null ? r : { ...r, title: titles.get(r.policyMetadataName) ?? null }));
    const view = deepFreeze({ framework, runId: summary.runId, generatedAt: summary.generatedAt, requirements: titled });
    this.unfilteredViews.set(framework, { key, rows, titles: titleSet, view });
    return view;
  }

  /** One read of the fleet serves every framework's unfiltered report of the run. */
  private async unfilteredRows(framework: FrameworkId, key: string): Promise<readonly RequirementReportRow[]> {
    let entry = this.unfiltered;
    if (entry?.key !== key) {
      const fresh = {
        key,
        rows: this.readClusters({}).then((clusters) => new Map(this.views.map((f) => [f.id, frameworkReport(f.id, clusters, new Map())] as const))),
      };
      this.unfiltered = entry = fresh;
      fresh.rows.catch(() => {
        if (this.unfiltered === fresh) this.unfiltered = undefined;
      });
    }
    return (await entry.rows).get(framework) ?? [];
  }

  async getReportCsv(framework: FrameworkId, filters: FrameworkReportFilters): Promise<string> {
    const report = await this.getReport(framework, filters);
    return frameworkReportToCsv(framework, report.requirements);
  }

  private async readClusters(filters: FrameworkReportFilters): Promise<ReportCluster[]> {
    const out: ReportCluster[] = [];
    let continuationToken: string | undefined;
    do {
      const query: ClusterQuery = {
        top: PAGE,
        continuationToken,
        ...(filters.environment !== undefined ? { environment: filters.environment } : {}),
        ...(filters.subscriptionId !== undefined ? { subscriptionId: filters.subscriptionId } : {}),
        ...(filters.location !== undefined ? { location: filters.location } : {}),
      };
      const page = await this.deps.clusters.listControlStatuses(query);
      out.push(...page.items);
      continuationToken = page.continuationToken;
    } while (continuationToken !== undefined);
    return out;
  }
}
