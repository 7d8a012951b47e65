import { describe, expect, it } from 'vitest';
import { evaluateCluster } from '../../../domain/evaluate-cluster.js';
import type { ControlStatus } from '../../../domain/model.js';
import { findingUid, STATUS_MAPPING, toComplianceFinding, type FindingSource } from '../../../domain/ocsf-finding.js';
import { OcsfSchema } from '../../support/ocsf-validator.js';
import { RUN_START, snapshot } from '../domain/builders.js';

const schema = new OcsfSchema();
const PRODUCT = { name: 'arc-compliance', vendorName: 'arc-compliance', version: '0.1.0' };
const source = (status: ControlStatus, overrides: Partial<FindingSource['control']> = {}): FindingSource => ({
  runId: 'run-1',
  evaluatedAt: RUN_START.toISOString(),
  cluster: { id: snapshot().id, name: 'c1', subscriptionId: snapshot().subscriptionId, resourceGroup: 'rg-prod', location: 'westeurope' },
  control: { controlId: 'ARC-AC-01', status, severity: 'high', evidence: 'aadProfile.enableAzureRBAC is true', ...overrides },
});
const finding = (status: ControlStatus = 'fail'): Record<string, unknown> => JSON.parse(JSON.stringify(toComplianceFinding(source(status), PRODUCT))) as Record<string, unknown>;

describe('OCSF Compliance Finding mapping', () => {
  it('validates against the 1.8.0 schema for every control status and every control of a real evaluation', () => {
    for (const status of Object.keys(STATUS_MAPPING) as ControlStatus[]) expect(schema.validate(finding(status), 'compliance_finding'), status).toEqual([]);
    const evaluation = evaluateCluster(snapshot(), { runId: 'r', runStartedAt: RUN_START, resourceGroupPeers: [snapshot()], exceptions: [] });
    for (const c of evaluation.controls) {
      const f = toComplianceFinding({ runId: 'r', evaluatedAt: evaluation.evaluatedAt, cluster: source('pass').cluster, control: c }, PRODUCT);
      expect(schema.validate(JSON.parse(JSON.stringify(f)), 'compliance_finding'), c.controlId).toEqual([]);
    }
  });

  it('carries the classification, cloud profile, product and the status mapping', () => {
    const f = finding('fail');
    expect(f).toMatchObject({ class_uid: 2003, category_uid: 2, type_uid: 200301, activity_id: 1, severity_id: 4, status_id: 1, time: RUN_START.getTime() });
    expect(f['metadata']).toMatchObject({ version: '1.8.0', profiles: ['cloud'], product: PRODUCT && { name: 'arc-compliance', vendor_name: 'arc-compliance', version: '0.1.0' } });
    expect(f['cloud']).toMatchObject({ provider: 'Azure', region: 'westeurope', account: { uid: snapshot().subscriptionId } });
    expect(f['compliance']).toMatchObject({ control: 'ARC-AC-01', status_id: 3, status: 'Fail' });
    const compliance = f['compliance'] as { standards: string[]; requirements: string[] };
    expect(compliance.standards).toContain('CIS Kubernetes Benchmark 1.10');
    expect(compliance.requirements).toContain('CIS Kubernetes Benchmark 1.10 3.1.1');
    expect(compliance.requirements.length).toBeGreaterThan(compliance.standards.length);
    expect((f['resources'] as { uid: string }[])[0]?.uid).toBe(snapshot().id);
    expect(finding('pass')['compliance']).toMatchObject({ status_id: 1, status: 'Pass' });
    expect(finding('unknown')['compliance']).toMatchObject({ status_id: 2, status: 'Warning' });
    expect(finding('exempt')).toMatchObject({ status_id: 3, status: 'Suppressed' });
  });

  it('gives each run, cluster and control one stable finding uid (cluster ids compare case-insensitively)', () => {
    expect(findingUid('r', '/A/B', 'ARC-AC-01')).toBe(findingUid('r', '/a/b', 'ARC-AC-01'));
    expect(findingUid('r', '/a/b', 'ARC-AC-01')).not.toBe(findingUid('r2', '/a/b', 'ARC-AC-01'));
    expect(findingUid('r', '/a/b', 'ARC-AC-01')).not.toBe(findingUid('r', '/a/b', 'ARC-AC-02'));
  });
});

describe('the OCSF validator rejects what the schema forbids', () => {
  const messages = (event: unknown): string => schema.validate(event, 'compliance_finding').map((i) => `${i.path}: ${i.message}`).join('\n');

  it('a missing required attribute (class, object and profile level)', () => {
    const f = finding();
    delete f['finding_info'];
    expect(messages(f)).toMatch(/\$\.finding_info: required attribute missing/);
    const g = finding();
    delete (g['metadata'] as Record<string, unknown>)['product'];
    expect(messages(g)).toMatch(/\$\.metadata\.product: required attribute missing/);
    const h = finding();
    delete h['cloud'];
    expect(messages(h)).toMatch(/\$\.cloud: required attribute missing/);
  });

  it('an unknown attribute, and a profile attribute without its profile', () => {
    expect(messages({ ...finding(), severity_text: 'high' })).toMatch(/\$\.severity_text: not an attribute of compliance_finding/);
    expect(messages({ ...finding(), compliance: { ...(finding()['compliance'] as object), verdict: 'x' } })).toMatch(/\$\.compliance\.verdict: not an attribute of compliance/);
    const f = finding();
    (f['metadata'] as Record<string, unknown>)['profiles'] = [];
    expect(messages(f)).toMatch(/\$\.cloud: belongs to profile cloud/);
  });

  it('a wrong enum value, a wrong classification and a caption that does not match its id', () => {
    expect(messages({ ...finding(), severity_id: 7 })).toMatch(/\$\.severity_id: 7 is not one of/);
    expect(messages({ ...finding(), compliance: { ...(finding()['compliance'] as object), status_id: 4 } })).toMatch(/\$\.compliance\.status_id: 4 is not one of/);
    expect(messages({ ...finding(), class_uid: 2004 })).toMatch(/\$\.class_uid: 2004 is not one of 2003/);
    expect(messages({ ...finding(), type_uid: 200399 + 5 })).toMatch(/\$\.type_uid/);
    expect(messages({ ...finding(), status: 'Open' })).toMatch(/\$\.status: "Open" is not the caption of status_id 1/);
  });

  it('wrong types: a string time, a scalar where an array belongs, an object where a string belongs', () => {
    expect(messages({ ...finding(), time: '2026-01-01T00:00:00Z' })).toMatch(/\$\.time: not a valid timestamp_t/);
    expect(messages({ ...finding(), compliance: { ...(finding()['compliance'] as object), standards: 'CIS' } })).toMatch(/\$\.compliance\.standards: expected an array/);
    expect(messages({ ...finding(), message: { text: 'x' } })).toMatch(/\$\.message: not a valid string_t/);
  });
});

describe('ocsf webhooks: cluster.compliance.changed as the findings of the changed controls', () => {
  it('maps each changed control at its new status, valid against the schema, with the same uid as the export', async () => {
    const { buildClusterComplianceChanged } = await import('../../../domain/webhook-events.js');
    const { ocsfFindingsOfComplianceChange } = await import('../../../domain/ocsf-finding.js');
    const snap = snapshot();
    const current = evaluateCluster(snap, { runId: 'run-2', runStartedAt: RUN_START, resourceGroupPeers: [snap], exceptions: [] });
    const previous = { score: 0, controls: current.controls.map((c, i) => (i < 2 ? { ...c, status: 'fail' as const } : c)) };
    const data = buildClusterComplianceChanged(snap, previous, current);
    expect(data?.changes.length).toBeGreaterThan(0);
    const findings = ocsfFindingsOfComplianceChange(JSON.parse(JSON.stringify(data)), PRODUCT);
    expect(findings).toHaveLength(data!.changes.length);
    for (const f of findings) expect(schema.validate(JSON.parse(JSON.stringify(f)), 'compliance_finding')).toEqual([]);
    const first = findings[0] as { finding_info: { uid: string }; cloud: { region?: string }; compliance: { control: string } };
    expect(first.cloud.region).toBe(snap.location);
    expect(first.finding_info.uid).toBe(findingUid('run-2', snap.id, first.compliance.control));
    expect(ocsfFindingsOfComplianceChange({ runId: 'r' }, PRODUCT)).toEqual([]);
  });

  it('is accepted for the events with an OCSF mapping only', async () => {
    const { normalizeNewWebhook } = await import('../../../domain/webhook-subscription.js');
    expect(normalizeNewWebhook({ url: 'https://siem.example.com/hec', events: ['cluster.compliance.changed'], format: 'ocsf' }).format).toBe('ocsf');
    expect(normalizeNewWebhook({ url: 'https://siem.example.com/hec', events: ['controlplane.change.detected', 'cluster.compliance.changed'], format: 'ocsf' }).events).toEqual(['controlplane.change.detected', 'cluster.compliance.changed']);
    expect(() => normalizeNewWebhook({ url: 'https://siem.example.com/hec', events: ['controlplane.change.detected', 'rollout.completed'], format: 'ocsf' })).toThrow(/invalid/);
    expect(() => normalizeNewWebhook({ url: 'https://siem.example.com/hec', events: ['*'], format: 'ocsf' })).toThrow(/invalid/);
    expect(() => normalizeNewWebhook({ url: 'https://siem.example.com/hec', events: ['cluster.compliance.changed', 'evaluation.completed'], format: 'ocsf' })).toThrow(/invalid/);
  });
});
