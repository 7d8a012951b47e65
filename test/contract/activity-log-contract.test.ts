/**
 * Contract of the ARM emulator's Activity Log against the official example
 * `monitor/2015-04-01/GetActivityLogsFiltered.json`: the example's entry, served by the emulator
 * (its clock at the example's time, since the log keeps 90 days), is read back through the real
 * `@azure/arm-monitor` client with the example's own `$filter`, and nothing may be lost.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MonitorClient, type EventData } from '@azure/arm-monitor';
import type { ManagedIdentityCredential } from '@azure/identity';
import { startArmEmulator, type ArmEmulator, type FleetModel } from '../../local/arm-emulator/index.js';
import { toActivityLogEntry } from '../../adapters/arm/activity-log-reader.js';
import { sdkOptions, useEmulatorIdentity } from '../integration/arm-emulator/support/emulator-clients.js';
import { loadExample, lostFields, responseBody } from './support/lossless.js';

const example = loadExample('monitor/2015-04-01/GetActivityLogsFiltered.json');
const body = responseBody<{ value: Record<string, unknown>[] }>(example);
const subscriptionId = String(example.parameters['subscriptionId']);
const filter = String(example.parameters['$filter']);

let emulator: ArmEmulator;
let credential: ManagedIdentityCredential;

beforeAll(async () => {
  const fleet: FleetModel = {
    tenantId: '1e8d8218-c5e7-4578-9acc-9abbd5d23315',
    subscriptions: [{ subscriptionId, displayName: 'example', state: 'Enabled' }],
    clusters: [],
    policyAssignments: [],
    policyExemptions: [],
    policySets: {},
    remediations: [],
    activityLog: structuredClone(body.value),
  };
  emulator = await startArmEmulator({ fleet, derivePolicyStates: () => [], now: () => new Date('2015-01-23T21:00:00Z') });
  credential = useEmulatorIdentity(emulator);
});
afterAll(async () => {
  await emulator?.stop();
});

async function list(f: string, select?: string): Promise<EventData[]> {
  const out: EventData[] = [];
  for await (const e of new MonitorClient(credential, subscriptionId, sdkOptions(emulator)).activityLogs.list(f, select !== undefined ? { select } : {})) out.push(e);
  return out;
}

describe('Microsoft.Insights activityLogs through MonitorClient (2015-04-01)', () => {
  it('list with the example $filter: GetActivityLogsFiltered.json, nothing lost', async () => {
    const got = await list(filter);
    expect(got).toHaveLength(1);
    expect(lostFields(body.value[0], got[0])).toEqual([]);
    expect(emulator.requests.apiVersions()['activityLogs.list']).toEqual(['2015-04-01']);
  });

  it('maps the example entry to what the watch reads (caller, appid, object id, status, times; resource from the authorization scope)', async () => {
    const [e] = await list(filter);
    expect(toActivityLogEntry(e!, subscriptionId)).toEqual({
      eventDataId: '44ade6b4-3813-45e6-ae27-7420a95fa2f8',
      eventTimestamp: '2015-01-21T22:14:26.979Z',
      submissionTimestamp: '2015-01-21T22:14:39.993Z',
      operationName: 'microsoft.support/supporttickets/write',
      status: 'Succeeded',
      subStatus: 'Created',
      caller: 'admin@contoso.com',
      callerAppId: 'c44b4083-3bq0-49c1-b47d-974e53cbdf3c',
      callerObjectId: '2468adf0-8211-44e3-95xq-85137af64708',
      // The example carries no `resourceId`: the authorization scope names the resource.
      resourceId: '/subscriptions/089bd33f-d4ec-47fe-8ba5-0753aa5c5b33/resourceGroups/MSSupportGroup/providers/microsoft.support/supporttickets/115012112305841',
      subscriptionId,
      correlationId: '1e121103-0ba6-4300-ac9d-952bb5d0c80f',
      clientIpAddress: '192.168.35.115',
    });
  });

  it('a filter on another resource group, or outside the range, returns nothing', async () => {
    expect(await list(filter.replace('MSSupportGroup', 'OtherGroup'))).toEqual([]);
    expect(await list("eventTimestamp ge '2015-01-22T00:00:00Z' and eventTimestamp le '2015-01-23T20:00:00Z'")).toEqual([]);
  });
});
