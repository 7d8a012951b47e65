/**
 * Microsoft.Insights Activity Log (2015-04-01, `ActivityLogs_List`):
 * GET `/subscriptions/{sub}/providers/Microsoft.Insights/eventtypes/management/values`.
 *
 * The service's rules, as far as they are documented or publicly reported:
 * - `$filter` is required and must bound `eventTimestamp` from below (`eventTimestamp ge '…'`; the
 *   spec's own example without it is wrong, Azure/azure-rest-api-specs#2467); `eventTimestamp le '…'`
 *   is optional and defaults to now;
 * - the start may be at most 90 days back (the log's retention; older starts answer 400 Bad Request,
 *   Azure/azure-cli#4885);
 * - further clauses, joined with `and`: `resourceGroupName`, `resourceId` / `resourceUri`,
 *   `resourceProvider`, `correlationId`, `status` (`eq`, case-insensitive), `eventChannels` and `levels`
 *   (accepted; `levels` filters on `level`);
 * - `$select` keeps the named top-level fields;
 * - newest first, paged with `nextLink` (`$skiptoken`), the pages of one query reading one snapshot.
 */
import { armError, decodeSkipToken, slicePage, type ArmRequestContext, type ArmResult, type ArmRoute } from '../arm-http.js';
import type { EmulatorState } from '../../server/emulator-state.js';

const DAY_MS = 86_400_000;
export const ACTIVITY_LOG_RETENTION_DAYS = 90;

type Clause = (record: Readonly<Record<string, unknown>>) => boolean;

const badFilter = (message: string): ArmResult => armError(400, 'BadRequest', message);

function valueOf(record: Readonly<Record<string, unknown>>, field: string): string {
  const v = record[field];
  if (typeof v === 'string') return v;
  if (typeof v === 'object' && v !== null && typeof (v as { value?: unknown }).value === 'string') return (v as { value: string }).value;
  return '';
}

function providerOf(record: Readonly<Record<string, unknown>>): string {
  return valueOf(record, 'resourceProviderName');
}

/** The `$filter` as a predicate plus its time range, or the service's 400. */
export function parseActivityLogFilter(raw: string | null, now: Date): { clauses: Clause[]; from: number; to: number } | ArmResult {
  if (raw === null || raw.trim() === '') {
    return badFilter("The $filter query parameter is required and must contain an eventTimestamp range, e.g. eventTimestamp ge '2026-01-01T00:00:00Z' and eventTimestamp le '2026-01-02T00:00:00Z'.");
  }
  const parts = raw.split(/\s+and\s+/i).map((p) => p.trim()).filter((p) => p !== '');
  let from: number | undefined;
  let to: number | undefined;
  const clauses: Clause[] = [];
  for (const part of parts) {
    const m = /^([A-Za-z]+)\s+(eq|ge|le)\s+'((?:[^']|'')*)'$/i.exec(part);
    if (m === null) return badFilter(`$filter searching parameters invalid: '${part}'.`);
    const field = m[1]!.toLowerCase();
    const op = m[2]!.toLowerCase();
    const value = m[3]!.replace(/''/g, "'");
    if (field === 'eventtimestamp') {
      const t = Date.parse(value);
      if (Number.isNaN(t) || op === 'eq') return badFilter(`$filter searching parameters invalid: '${part}' (eventTimestamp takes ge and le with an ISO 8601 time).`);
      if (op === 'ge') from = t;
      else to = t;
      continue;
    }
    if (op !== 'eq') return badFilter(`$filter searching parameters invalid: '${part}' (${m[1]} supports eq only).`);
    const v = value.toLowerCase();
    switch (field) {
      case 'resourcegroupname':
        clauses.push((r) => valueOf(r, 'resourceGroupName').toLowerCase() === v);
        break;
      case 'resourceid':
      case 'resourceuri':
        clauses.push((r) => valueOf(r, 'resourceId').toLowerCase() === v);
        break;
      case 'resourceprovider':
        clauses.push((r) => providerOf(r).toLowerCase() === v);
        break;
      case 'correlationid':
        clauses.push((r) => valueOf(r, 'correlationId').toLowerCase() === v);
        break;
      case 'status':
        clauses.push((r) => valueOf(r, 'status').toLowerCase() === v);
        break;
      case 'levels': {
        const levels = new Set(v.split(',').map((l) => l.trim()));
        clauses.push((r) => levels.has(valueOf(r, 'level').toLowerCase()));
        break;
      }
      case 'eventchannels':
        break;
      default:
        return badFilter(`$filter searching parameters invalid: '${m[1]}' is not a supported field.`);
    }
  }
  if (from === undefined) return badFilter("$filter must contain a start time: eventTimestamp ge '<ISO 8601 time>'.");
  const end = to ?? now.getTime();
  const oldest = now.getTime() - ACTIVITY_LOG_RETENTION_DAYS * DAY_MS;
  if (from < oldest) {
    return badFilter(`The start time of the eventTimestamp range (${new Date(from).toISOString()}) is older than ${ACTIVITY_LOG_RETENTION_DAYS} days; the Activity Log keeps ${ACTIVITY_LOG_RETENTION_DAYS} days of events.`);
  }
  if (end < from) return badFilter('The end of the eventTimestamp range is before its start.');
  return { clauses, from, to: end };
}

function project(record: Readonly<Record<string, unknown>>, select: readonly string[] | undefined): Record<string, unknown> {
  if (select === undefined) return { ...record };
  const wanted = new Set(select);
  return Object.fromEntries(Object.entries(record).filter(([k]) => wanted.has(k.toLowerCase())));
}

function listActivityLog(state: EmulatorState, ctx: ArmRequestContext): ArmResult {
  const subscriptionId = ctx.params[0]!.toLowerCase();
  const token = decodeSkipToken(ctx.url);
  let records = state.snapshot(token?.s);
  let snapshotId = token?.s;
  if (!records) {
    const filter = parseActivityLogFilter(ctx.url.searchParams.get('$filter'), state.now());
    if (!('clauses' in filter)) return filter;
    records = (state.fleet.activityLog ?? [])
      .filter((r) => valueOf(r, 'subscriptionId').toLowerCase() === subscriptionId)
      .filter((r) => {
        const t = Date.parse(valueOf(r, 'eventTimestamp'));
        return t >= filter.from && t <= filter.to;
      })
      .filter((r) => filter.clauses.every((c) => c(r)))
      .sort((a, b) => Date.parse(valueOf(b, 'eventTimestamp')) - Date.parse(valueOf(a, 'eventTimestamp')));
    snapshotId = state.saveSnapshot(records);
  }
  const rawSelect = ctx.url.searchParams.get('$select');
  const select = rawSelect === null ? undefined : rawSelect.split(',').map((s) => s.trim().toLowerCase()).filter((s) => s !== '');
  const page = slicePage(records, ctx, state.pageSizes.activityLog, snapshotId);
  return { status: 200, body: { value: page.items.map((r) => project(r, select)), ...(page.nextLink !== undefined ? { nextLink: page.nextLink } : {}) } };
}

export function activityLogRoutes(state: EmulatorState): ArmRoute[] {
  return [
    {
      name: 'activityLogs.list',
      method: 'GET',
      pattern: /^\/subscriptions\/([^/]+)\/providers\/Microsoft\.Insights\/eventtypes\/management\/values\/?$/i,
      handle: (ctx) => listActivityLog(state, ctx),
    },
  ];
}
