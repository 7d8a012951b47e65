import { describe, expect, it } from 'vitest';
import { listControls } from '../../../domain/control-catalog.js';
import { evaluateCluster, type EvaluationContext } from '../../../domain/evaluate-cluster.js';
import type { ClusterSnapshot, ControlResult, PolicyComponentFact } from '../../../domain/model.js';
import { MAX_EVIDENCE_LENGTH, MAX_OFFENDER_ITEMS } from '../../../domain/offender-list.js';
import { GOOD_EXTENSIONS, GOOD_STATES, IDS, RUN_START, context, exception, extension, policyState, snapshot } from './builders.js';

function evaluate(snap: ClusterSnapshot, ctx: Partial<EvaluationContext> = {}) {
  return evaluateCluster(snap, context({ resourceGroupPeers: [snap], ...ctx }));
}

function result(snap: ClusterSnapshot, controlId: string, ctx: Partial<EvaluationContext> = {}): ControlResult {
  const r = evaluate(snap, ctx).controls.find((c) => c.controlId === controlId);
  if (r === undefined) throw new Error(`no result for ${controlId}`);
  return r;
}

const withProps = (props: Partial<ClusterSnapshot['properties']>): ClusterSnapshot =>
  snapshot({ properties: { ...snapshot().properties, ...props } });

describe('evaluateCluster: whole evaluation', () => {
  it('a fully configured prod cluster passes every catalog control, in catalog order, and scores 100', () => {
    // A provisioned cluster with no break-glass download: ARC-TD-04 applies and passes too.
    const e = evaluate(snapshot({ kind: 'ProvisionedCluster', breakGlass: [] }));
    expect(e.controls.map((c) => c.controlId)).toEqual(listControls().map((c) => c.id));
    expect(e.controls.filter((c) => c.status !== 'pass')).toEqual([]);
    expect(e.score).toBe(100);
    expect(e.failedControls).toEqual([]);
  });

  it('records run id, run start as evaluatedAt and the original cluster id', () => {
    const s = snapshot();
    const e = evaluate(s);
    expect(e).toMatchObject({ runId: 'run-1', evaluatedAt: RUN_START.toISOString(), clusterId: s.id });
  });

  it('is deterministic: evaluating the same snapshot twice gives equal results (redelivery)', () => {
    const s = snapshot({ extensions: [], policyStates: [] });
    expect(evaluate(s)).toEqual(evaluate(s));
  });

  it('lists failing controls and lowers the score', () => {
    const e = evaluate(withProps({ aadProfile: { enableAzureRBAC: false } }));
    expect(e.failedControls).toEqual(['ARC-AC-01']);
    expect(e.score).toBeLessThan(100);
  });

  it('copies the catalog severity onto each result', () => {
    const e = evaluate(snapshot());
    for (const c of e.controls) expect(c.severity).toBe(listControls().find((d) => d.id === c.controlId)?.severity);
  });
});

describe('ARC-AC-01 Entra ID with Azure RBAC', () => {
  it('passes when enableAzureRBAC is true', () => expect(result(snapshot(), 'ARC-AC-01').status).toBe('pass'));
  it('fails when false', () => {
    expect(result(withProps({ aadProfile: { enableAzureRBAC: false } }), 'ARC-AC-01')).toMatchObject({ status: 'fail', reason: 'disabled' });
  });
  it('fails (not-configured) when aadProfile is missing: a missing property means not configured', () => {
    expect(result(withProps({ aadProfile: undefined }), 'ARC-AC-01')).toMatchObject({ status: 'fail', reason: 'not-configured' });
  });
});

describe('policy controls (ARC-AC-02, ARC-PL-02, ARC-PL-03, ARC-UP-01)', () => {
  const cases = [
    ['ARC-AC-02', IDS.automount],
    ['ARC-PL-03', IDS.allowedImages],
    ['ARC-UP-01', IDS.probes],
  ] as const;

  for (const [controlId, definition] of cases) {
    describe(controlId, () => {
      const others = GOOD_STATES.filter((s) => s.policyDefinitionName !== definition);
      it('passes when every state of the definition is Compliant', () => {
        expect(result(snapshot(), controlId)).toMatchObject({ status: 'pass' });
      });
      it('fails with reason not-assigned when there is no state for the definition', () => {
        expect(result(snapshot({ policyStates: others }), controlId)).toMatchObject({ status: 'fail', reason: 'not-assigned' });
      });
      it('fails when any state is NonCompliant, even if another assignment is Compliant', () => {
        const states = [...GOOD_STATES, policyState(definition, { complianceState: 'NonCompliant', policyAssignmentId: '/x/policyassignments/second' })];
        const r = result(snapshot({ policyStates: states }), controlId);
        expect(r).toMatchObject({ status: 'fail', reason: 'noncompliant' });
        expect(r.offenders?.items.some((i) => i.includes(definition) && i.includes('second'))).toBe(true);
      });
      it('is exempt when the state is Exempt (Azure Policy exemption)', () => {
        const states = [...others, policyState(definition, { complianceState: 'Exempt' })];
        expect(result(snapshot({ policyStates: states }), controlId)).toMatchObject({ status: 'exempt', reason: 'policy-exemption' });
      });
      it('is unknown when policy states could not be collected', () => {
        expect(result(snapshot({ policyStates: null }), controlId)).toMatchObject({ status: 'unknown', reason: 'not-collected' });
      });
      it('counts a state that came through any initiative (definition matched directly)', () => {
        const states = [...others, policyState(definition, { policySetDefinitionName: '1f3afdf9-d0c9-4c3d-847f-89da613e70a8' })];
        expect(result(snapshot({ policyStates: states }), controlId).status).toBe('pass');
      });
    });
  }

  it('compares definition ids and compliance states case-insensitively', () => {
    const states = [...GOOD_STATES.filter((s) => s.policyDefinitionName !== IDS.automount), policyState(IDS.automount.toUpperCase(), { complianceState: 'noncompliant' })];
    expect(result(snapshot({ policyStates: states }), 'ARC-AC-02').status).toBe('fail');
  });

  it('NonCompliant wins over Exempt, and Exempt over Compliant', () => {
    const ex = policyState(IDS.probes, { complianceState: 'Exempt', policyAssignmentId: '/a/policyassignments/ex' });
    const nc = policyState(IDS.probes, { complianceState: 'NonCompliant', policyAssignmentId: '/a/policyassignments/nc' });
    const ok = policyState(IDS.probes);
    expect(result(snapshot({ policyStates: [ok, ex, nc] }), 'ARC-UP-01').status).toBe('fail');
    expect(result(snapshot({ policyStates: [ok, ex] }), 'ARC-UP-01').status).toBe('exempt');
  });

  it('a state that is neither Compliant, NonCompliant nor Exempt (Unknown, Conflicting) does not pass: fail not-evaluated', () => {
    for (const complianceState of ['Unknown', 'Conflicting']) {
      const r = result(snapshot({ policyStates: [policyState(IDS.probes, { complianceState })] }), 'ARC-UP-01');
      expect(r).toMatchObject({ status: 'fail', reason: 'not-evaluated' });
    }
  });

  it('evidence lists offending policies and the non-compliant in-cluster components', () => {
    const components: PolicyComponentFact[] = [
      { id: 'default/web', name: 'web', type: 'Pod', complianceState: 'NonCompliant' },
      { id: 'default/ok', name: 'ok', type: 'Pod', complianceState: 'Compliant' },
    ];
    const states = [policyState(IDS.allowedImages, { complianceState: 'NonCompliant', components })];
    const r = result(snapshot({ policyStates: states }), 'ARC-PL-03');
    expect(r.offenders?.items).toEqual([expect.stringContaining(IDS.allowedImages), 'component Pod default/web']);
    expect(r.offenders?.total).toBe(2);
    expect(r.evidence).toContain('1 non-compliant in-cluster resource');
  });

  it('bounds offenders and evidence even with hundreds of non-compliant components', () => {
    const components: PolicyComponentFact[] = Array.from({ length: 800 }, (_, i) => ({
      id: `ns-${i}/${'pod-with-a-very-long-name-'.repeat(20)}${i}`,
      name: `pod-${i}`,
      type: 'Pod',
      complianceState: 'NonCompliant',
    }));
    const r = result(snapshot({ policyStates: [policyState(IDS.allowedImages, { complianceState: 'NonCompliant', components })] }), 'ARC-PL-03');
    expect(r.offenders?.items).toHaveLength(MAX_OFFENDER_ITEMS);
    expect(r.offenders?.total).toBe(801);
    expect(r.evidence.length).toBeLessThanOrEqual(MAX_EVIDENCE_LENGTH);
    expect(JSON.stringify(r).length).toBeLessThan(16 * 1024);
  });

  describe('ARC-PL-02 Pod Security Standards', () => {
    const psStates = (complianceState: string, set: string = IDS.baseline) => [
      policyState(IDS.noPrivileged, { policySetDefinitionName: set, complianceState }),
    ];
    it('passes on Compliant states from the baseline initiative', () => {
      expect(result(snapshot({ policyStates: psStates('Compliant') }), 'ARC-PL-02').status).toBe('pass');
    });
    it('passes on Compliant states from the restricted initiative', () => {
      expect(result(snapshot({ policyStates: psStates('Compliant', IDS.restricted) }), 'ARC-PL-02').status).toBe('pass');
    });
    it('ignores a member definition assigned outside the named initiatives: not-assigned', () => {
      const states = [policyState(IDS.noPrivileged)];
      expect(result(snapshot({ policyStates: states }), 'ARC-PL-02')).toMatchObject({ status: 'fail', reason: 'not-assigned' });
    });
    it('fails on a NonCompliant member, naming it by reference id', () => {
      const states = [policyState(IDS.noPrivileged, { policySetDefinitionName: IDS.restricted, policyDefinitionReferenceId: 'NoPrivilegedContainers', complianceState: 'NonCompliant' })];
      const r = result(snapshot({ policyStates: states }), 'ARC-PL-02');
      expect(r.status).toBe('fail');
      expect(r.offenders?.items[0]).toContain('NoPrivilegedContainers');
    });
    it('exempt when the initiative state is Exempt; unknown when not collected', () => {
      expect(result(snapshot({ policyStates: psStates('Exempt') }), 'ARC-PL-02').status).toBe('exempt');
      expect(result(snapshot({ policyStates: null }), 'ARC-PL-02').status).toBe('unknown');
    });
  });
});

describe('ARC-PL-04 production enforces (deny)', () => {
  it('passes on a prod cluster whose PL-02/PL-03 states are all deny', () => {
    expect(result(snapshot(), 'ARC-PL-04').status).toBe('pass');
  });
  it('fails not-enforced when any PL-02/PL-03 state audits', () => {
    const states = [...GOOD_STATES, policyState(IDS.allowedImages, { policyDefinitionAction: 'audit', policyAssignmentId: '/a/policyassignments/audit-only' })];
    const r = result(snapshot({ policyStates: states }), 'ARC-PL-04');
    expect(r).toMatchObject({ status: 'fail', reason: 'not-enforced' });
    expect(r.offenders?.items).toEqual([expect.stringContaining('effect audit')]);
  });
  it('ignores states of other policies (probes may audit)', () => {
    const states = [...GOOD_STATES.filter((s) => s.policyDefinitionName !== IDS.probes), policyState(IDS.probes, { policyDefinitionAction: 'audit' })];
    expect(result(snapshot({ policyStates: states }), 'ARC-PL-04').status).toBe('pass');
  });
  it('compares the action case-insensitively', () => {
    const states = GOOD_STATES.map((s) => ({ ...s, policyDefinitionAction: 'Deny' }));
    expect(result(snapshot({ policyStates: states }), 'ARC-PL-04').status).toBe('pass');
  });
  it('fails not-assigned on prod when there are no PL-02/PL-03 states at all', () => {
    const states = [policyState(IDS.automount), policyState(IDS.probes)];
    expect(result(snapshot({ policyStates: states }), 'ARC-PL-04')).toMatchObject({ status: 'fail', reason: 'not-assigned' });
  });
  it('passes when only one of PL-02/PL-03 has states and all deny (the other control fails on its own)', () => {
    const states = [policyState(IDS.allowedImages)];
    expect(result(snapshot({ policyStates: states }), 'ARC-PL-04').status).toBe('pass');
    expect(result(snapshot({ policyStates: states }), 'ARC-PL-02').status).toBe('fail');
  });
  it('is not_applicable on dev, test and untagged clusters, even with audit states', () => {
    const states = GOOD_STATES.map((s) => ({ ...s, policyDefinitionAction: 'audit' }));
    const tagSets: Record<string, string>[] = [{ environment: 'dev' }, { Environment: 'TEST' }, {}];
    for (const tags of tagSets) {
      expect(result(snapshot({ tags, policyStates: states }), 'ARC-PL-04').status).toBe('not_applicable');
    }
  });
  it('applies to a cluster tagged ENVIRONMENT=Prod (case-insensitive)', () => {
    const states = GOOD_STATES.map((s) => ({ ...s, policyDefinitionAction: 'audit' }));
    expect(result(snapshot({ tags: { ENVIRONMENT: 'Prod' }, policyStates: states }), 'ARC-PL-04').status).toBe('fail');
  });
  it('is unknown on prod when policy states were not collected', () => {
    expect(result(snapshot({ policyStates: null }), 'ARC-PL-04')).toMatchObject({ status: 'unknown', reason: 'not-collected' });
  });
});

describe('extension controls (ARC-PL-01, ARC-TD-01, ARC-TD-02, ARC-TD-03)', () => {
  const cases = [
    ['ARC-PL-01', 'microsoft.policyinsights', 'Microsoft.PolicyInsights'],
    ['ARC-TD-01', 'microsoft.azuredefender.kubernetes', 'Microsoft.AzureDefender.Kubernetes'],
    ['ARC-TD-02', 'microsoft.azuremonitor.containers', 'Microsoft.AzureMonitor.Containers'],
    ['ARC-TD-03', 'microsoft.dataprotection.kubernetes', 'Microsoft.DataProtection.Kubernetes'],
  ] as const;
  for (const [controlId, type, mixedCase] of cases) {
    describe(controlId, () => {
      const others = GOOD_EXTENSIONS.filter((e) => e.extensionType !== type);
      it('passes with the extension Succeeded', () => expect(result(snapshot(), controlId).status).toBe('pass'));
      it('compares the extension type and provisioning state case-insensitively', () => {
        expect(result(snapshot({ extensions: [...others, extension(mixedCase, 'succeeded')] }), controlId).status).toBe('pass');
      });
      it('fails not-installed without the extension', () => {
        expect(result(snapshot({ extensions: others }), controlId)).toMatchObject({ status: 'fail', reason: 'not-installed' });
      });
      it('fails not-healthy when the extension is not Succeeded (or has no provisioningState)', () => {
        for (const state of ['Failed', 'Creating', undefined]) {
          const ext = { ...extension(type), provisioningState: state };
          expect(result(snapshot({ extensions: [...others, ext] }), controlId)).toMatchObject({ status: 'fail', reason: 'not-healthy' });
        }
      });
      it('passes when one of several instances is Succeeded', () => {
        const exts = [...others, extension(type, 'Failed', 'a'), extension(type, 'Succeeded', 'b')];
        expect(result(snapshot({ extensions: exts }), controlId).status).toBe('pass');
      });
      it('is unknown when extensions could not be collected', () => {
        expect(result(snapshot({ extensions: null }), controlId)).toMatchObject({ status: 'unknown', reason: 'not-collected' });
      });
    });
  }
  it('ARC-TD-02 accepts the legacy extension type azuremonitor-containers', () => {
    const exts = [...GOOD_EXTENSIONS.filter((e) => e.extensionType !== 'microsoft.azuremonitor.containers'), extension('AzureMonitor-Containers')];
    expect(result(snapshot({ extensions: exts }), 'ARC-TD-02').status).toBe('pass');
  });
  it('matches on extension type, not on the extension name', () => {
    const exts = [extension('something.else', 'Succeeded', 'azurepolicy')];
    expect(result(snapshot({ extensions: exts }), 'ARC-PL-01').status).toBe('fail');
  });
});

describe('ARC-AC-03 workload identity federation', () => {
  it('passes with workload identity and OIDC issuer enabled', () => expect(result(snapshot(), 'ARC-AC-03').status).toBe('pass'));
  it('fails when workload identity is disabled', () => {
    expect(result(withProps({ securityProfile: { workloadIdentity: { enabled: false } } }), 'ARC-AC-03')).toMatchObject({ status: 'fail', reason: 'disabled' });
  });
  it('fails when the OIDC issuer is missing', () => {
    expect(result(withProps({ oidcIssuerProfile: undefined }), 'ARC-AC-03')).toMatchObject({ status: 'fail', reason: 'not-configured' });
  });
  it('fails when both are missing', () => {
    expect(result(withProps({ securityProfile: undefined, oidcIssuerProfile: undefined }), 'ARC-AC-03').status).toBe('fail');
  });
});

describe('ARC-AC-04 environment separation', () => {
  const prod = snapshot({ name: 'p1', resourceGroup: 'rg-shared', tags: { environment: 'prod' } });
  const dev = snapshot({ name: 'd1', resourceGroup: 'rg-shared', tags: { environment: 'dev' } });
  const test2 = snapshot({ name: 't1', resourceGroup: 'RG-SHARED', tags: { environment: 'test' } });

  it('passes for each of dev, test and prod when alone in the resource group', () => {
    for (const value of ['dev', 'test', 'prod', 'PROD', 'Dev']) {
      expect(result(snapshot({ tags: { environment: value } }), 'ARC-AC-04').status).toBe('pass');
    }
  });
  it('reads the tag name case-insensitively', () => {
    expect(result(snapshot({ tags: { EnViRoNmEnT: 'Test' } }), 'ARC-AC-04').status).toBe('pass');
  });
  it('fails missing-environment-tag without the tag', () => {
    expect(result(snapshot({ tags: { owner: 'x' } }), 'ARC-AC-04')).toMatchObject({ status: 'fail', reason: 'missing-environment-tag' });
  });
  it('fails invalid-environment for other values', () => {
    for (const value of ['production', 'staging', '', ' prod']) {
      expect(result(snapshot({ tags: { environment: value } }), 'ARC-AC-04')).toMatchObject({ status: 'fail', reason: 'invalid-environment' });
    }
  });
  it('prod and non-prod in the same subscription + resource group: BOTH sides fail, naming the other side', () => {
    const peers = [prod, dev];
    const p = result(prod, 'ARC-AC-04', { resourceGroupPeers: peers });
    const d = result(dev, 'ARC-AC-04', { resourceGroupPeers: peers });
    expect(p).toMatchObject({ status: 'fail', reason: 'mixed-resource-group' });
    expect(p.offenders?.items).toEqual([expect.stringContaining('d1')]);
    expect(d).toMatchObject({ status: 'fail', reason: 'mixed-resource-group' });
    expect(d.offenders?.items).toEqual([expect.stringContaining('p1')]);
  });
  it('compares resource group names case-insensitively', () => {
    expect(result(prod, 'ARC-AC-04', { resourceGroupPeers: [prod, test2] }).status).toBe('fail');
  });
  it('dev and test together are fine; several prod clusters together are fine', () => {
    expect(result(dev, 'ARC-AC-04', { resourceGroupPeers: [dev, test2] }).status).toBe('pass');
    const prod2 = snapshot({ name: 'p2', resourceGroup: 'rg-shared', tags: { environment: 'Prod' } });
    expect(result(prod, 'ARC-AC-04', { resourceGroupPeers: [prod, prod2] }).status).toBe('pass');
  });
  it('an untagged peer counts as non-prod for a prod cluster, and does not affect a dev cluster', () => {
    const untagged = snapshot({ name: 'u1', resourceGroup: 'rg-shared', tags: {} });
    expect(result(prod, 'ARC-AC-04', { resourceGroupPeers: [prod, untagged] }).status).toBe('fail');
    expect(result(dev, 'ARC-AC-04', { resourceGroupPeers: [dev, untagged] }).status).toBe('pass');
  });
  it('ignores peers from another resource group or subscription', () => {
    const otherRg = snapshot({ name: 'd2', resourceGroup: 'rg-dev', tags: { environment: 'dev' } });
    const otherSub = { ...dev, id: dev.id.replace('0001', '0002'), subscriptionId: '00000000-0000-0000-0000-000000000002' };
    expect(result(prod, 'ARC-AC-04', { resourceGroupPeers: [prod, otherRg, otherSub] }).status).toBe('pass');
  });
  it('does not compare a cluster with itself (peer id casing differs)', () => {
    const selfUpper = { ...prod, id: prod.id.toUpperCase(), tags: { environment: 'dev' } };
    expect(result(prod, 'ARC-AC-04', { resourceGroupPeers: [selfUpper] }).status).toBe('pass');
  });
});

describe('ARC-AC-05 GitOps', () => {
  it('passes with at least one Compliant Flux configuration', () => {
    const flux = [{ name: 'a', complianceState: 'Non-Compliant' }, { name: 'b', complianceState: 'compliant' }];
    expect(result(snapshot({ fluxConfigurations: flux }), 'ARC-AC-05').status).toBe('pass');
  });
  it('fails no-gitops without Flux configurations', () => {
    expect(result(snapshot({ fluxConfigurations: [] }), 'ARC-AC-05')).toMatchObject({ status: 'fail', reason: 'no-gitops' });
  });
  it('fails when no configuration is Compliant', () => {
    const flux = [{ name: 'a', complianceState: 'Pending' }, { name: 'b', complianceState: undefined }];
    const r = result(snapshot({ fluxConfigurations: flux }), 'ARC-AC-05');
    expect(r).toMatchObject({ status: 'fail', reason: 'gitops-not-compliant' });
    expect(r.offenders?.total).toBe(2);
  });
  it('is unknown when Flux configurations could not be collected', () => {
    expect(result(snapshot({ fluxConfigurations: null }), 'ARC-AC-05').status).toBe('unknown');
  });
});

describe('ARC-UP-02 agent auto-upgrade', () => {
  it('passes when Enabled (case-insensitive)', () => {
    expect(result(withProps({ arcAgentProfile: { agentAutoUpgrade: 'enabled' } }), 'ARC-UP-02').status).toBe('pass');
  });
  it('fails when Disabled', () => {
    expect(result(withProps({ arcAgentProfile: { agentAutoUpgrade: 'Disabled' } }), 'ARC-UP-02')).toMatchObject({ status: 'fail', reason: 'disabled' });
  });
  it('fails not-configured when missing', () => {
    expect(result(withProps({ arcAgentProfile: undefined }), 'ARC-UP-02')).toMatchObject({ status: 'fail', reason: 'not-configured' });
  });
});

describe('ARC-OP-01 connectivity (24 h before the run start)', () => {
  const at = (lastConnectivityTime: string | undefined, connectivityStatus: string | null = 'Connected') =>
    result(withProps({ connectivityStatus: connectivityStatus ?? undefined, lastConnectivityTime }), 'ARC-OP-01');
  it('passes exactly 24 h before the run start', () => expect(at('2026-03-09T02:00:00.000Z').status).toBe('pass'));
  it('fails 1 ms more than 24 h before the run start', () => {
    expect(at('2026-03-09T01:59:59.999Z')).toMatchObject({ status: 'fail', reason: 'stale-connection' });
  });
  it('a heartbeat after the run start (clock skew) counts as recent', () => expect(at('2026-03-10T03:00:00Z').status).toBe('pass'));
  it('fails when not Connected even with a recent heartbeat', () => {
    for (const status of ['Offline', 'Expired', 'Connecting']) expect(at('2026-03-10T01:00:00Z', status)).toMatchObject({ status: 'fail', reason: 'disconnected' });
  });
  it('accepts connected in any case', () => expect(at('2026-03-10T01:00:00Z', 'CONNECTED').status).toBe('pass'));
  it('fails when lastConnectivityTime or connectivityStatus is missing, or the time is unparseable', () => {
    expect(at(undefined)).toMatchObject({ status: 'fail', reason: 'not-configured' });
    expect(at('2026-03-10T01:00:00Z', null)).toMatchObject({ status: 'fail', reason: 'not-configured' });
    expect(at('yesterday')).toMatchObject({ status: 'fail', reason: 'invalid-timestamp' });
  });
  it('measures from the run start, not from any clock', () => {
    const s = withProps({ lastConnectivityTime: '2026-03-10T01:00:00Z' });
    expect(result(s, 'ARC-OP-01', { runStartedAt: new Date('2026-03-12T00:00:00Z') }).status).toBe('fail');
  });
});

describe('ARC-OP-02 managed identity certificate (more than 30 days after the run start)', () => {
  const at = (value: string | undefined) => result(withProps({ managedIdentityCertificateExpirationTime: value }), 'ARC-OP-02');
  it('passes 30 days and 1 ms after the run start', () => expect(at('2026-04-09T02:00:00.001Z').status).toBe('pass'));
  it('fails exactly 30 days after the run start ("more than")', () => {
    expect(at('2026-04-09T02:00:00.000Z')).toMatchObject({ status: 'fail', reason: 'certificate-expiring' });
  });
  it('fails certificate-expired once expired', () => expect(at('2026-03-01T00:00:00Z')).toMatchObject({ status: 'fail', reason: 'certificate-expired' }));
  it('fails when missing or unparseable', () => {
    expect(at(undefined)).toMatchObject({ status: 'fail', reason: 'not-configured' });
    expect(at('soon')).toMatchObject({ status: 'fail', reason: 'invalid-timestamp' });
  });
});

describe('exceptions', () => {
  const failing = withProps({ aadProfile: { enableAzureRBAC: false } });
  const rgScope = `/subscriptions/${failing.subscriptionId}/resourcegroups/${failing.resourceGroup}`;

  it('turn fail into exempt with reason exception:<id>, keeping the observation', () => {
    const r = result(failing, 'ARC-AC-01', { exceptions: [exception()] });
    expect(r).toMatchObject({ status: 'exempt', reason: 'exception:ex-1' });
    expect(r.evidence).toContain('aadProfile.enableAzureRBAC is false');
    expect(evaluate(failing, { exceptions: [exception()] }).failedControls).toEqual([]);
  });
  it('match a cluster scope case-insensitively', () => {
    expect(result(failing, 'ARC-AC-01', { exceptions: [exception({ scope: failing.id.toUpperCase() })] }).status).toBe('exempt');
  });
  it('match the resource group scope (case-insensitive)', () => {
    expect(result(failing, 'ARC-AC-01', { exceptions: [exception({ scope: rgScope.toUpperCase() })] }).status).toBe('exempt');
  });
  it('do not match another cluster, another resource group, or a resource group whose name is a prefix', () => {
    for (const scope of [failing.id.replace('/c1', '/c2'), rgScope.replace('rg-prod', 'rg-other'), `${rgScope}x`, `/subscriptions/${failing.subscriptionId}`]) {
      expect(result(failing, 'ARC-AC-01', { exceptions: [exception({ scope })] }).status).toBe('fail');
    }
  });
  it('apply only to their control', () => {
    expect(result(failing, 'ARC-AC-01', { exceptions: [exception({ controlId: 'ARC-AC-03' })] }).status).toBe('fail');
  });
  it('stop applying at expiry: expiresAt equal to the run start is expired', () => {
    expect(result(failing, 'ARC-AC-01', { exceptions: [exception({ expiresAt: RUN_START.toISOString() })] }).status).toBe('fail');
    expect(result(failing, 'ARC-AC-01', { exceptions: [exception({ expiresAt: '2026-03-10T02:00:00.001Z' })] }).status).toBe('exempt');
  });
  it('leave pass, unknown and not_applicable alone', () => {
    const ex = [exception({ controlId: 'ARC-AC-05' }), exception({ id: 'ex-2', controlId: 'ARC-PL-04' }), exception({ id: 'ex-3', controlId: 'ARC-AC-01' })];
    const s = snapshot({ fluxConfigurations: null, tags: { environment: 'dev' } });
    const e = evaluate(s, { exceptions: ex });
    expect(e.controls.find((c) => c.controlId === 'ARC-AC-05')?.status).toBe('unknown');
    expect(e.controls.find((c) => c.controlId === 'ARC-PL-04')?.status).toBe('not_applicable');
    expect(e.controls.find((c) => c.controlId === 'ARC-AC-01')?.status).toBe('pass');
  });
  it('when several match, the longest-lasting one is cited', () => {
    const ex = [exception({ id: 'short', expiresAt: '2026-03-20T00:00:00Z' }), exception({ id: 'long', expiresAt: '2026-05-01T00:00:00Z', scope: rgScope })];
    expect(result(failing, 'ARC-AC-01', { exceptions: ex }).reason).toBe('exception:long');
  });
  it('exempt controls are not scored: an exception on the only failure restores 100', () => {
    expect(evaluate(failing).score).toBeLessThan(100);
    expect(evaluate(failing, { exceptions: [exception()] }).score).toBe(100);
  });
});

describe('ARC-TD-04 Break-glass admin access reviewed', () => {
  const download = (daysAgo: number, caller = 'oncall@contoso.example') => ({ eventDataId: `e${daysAgo}`, caller, status: 'Succeeded', eventTimestamp: new Date(RUN_START.getTime() - daysAgo * 86_400_000).toISOString() });
  const provisioned = (breakGlass: ClusterSnapshot['breakGlass']) => snapshot({ kind: 'ProvisionedCluster', breakGlass });

  it('is not applicable to a connected (bring-your-own) cluster', () => {
    expect(result(snapshot({ breakGlass: [download(1)] }), 'ARC-TD-04').status).toBe('not_applicable');
  });
  it('is unknown when the Activity Log was not read, never pass', () => {
    expect(result(provisioned(null), 'ARC-TD-04')).toMatchObject({ status: 'unknown', reason: 'not-collected', severity: 'high' });
    expect(result(snapshot({ kind: 'ProvisionedCluster' }), 'ARC-TD-04').status).toBe('unknown');
  });
  it('fails with the caller and time of each download in the lookback (30 days by default, or as configured)', () => {
    const r = result(provisioned([download(3), download(40, 'old@contoso.example')]), 'ARC-TD-04');
    expect(r).toMatchObject({ status: 'fail', reason: 'break-glass-used' });
    expect(r.evidence).toContain(`oncall@contoso.example at ${download(3).eventTimestamp}`);
    expect(r.evidence).not.toContain('old@contoso.example');
    expect(r.offenders?.total).toBe(1);
    expect(result(provisioned([download(40, 'old@contoso.example')]), 'ARC-TD-04', { breakGlassLookbackDays: 60 }).evidence).toContain('old@contoso.example');
    expect(result(provisioned([download(3)]), 'ARC-TD-04', { breakGlassLookbackDays: 2 }).status).toBe('pass');
  });
  it('an active exception for the control turns the failure into exempt, keeping the caller in the evidence', () => {
    const snap = provisioned([download(3)]);
    const r = result(snap, 'ARC-TD-04', { exceptions: [exception({ controlId: 'ARC-TD-04', scope: snap.id.toLowerCase() })] });
    expect(r.status).toBe('exempt');
    expect(r.evidence).toContain('oncall@contoso.example');
  });
});
