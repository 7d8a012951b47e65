import { describe, expect, it } from 'vitest';
import { bicepResources, infraFiles, readJson, readText, stripBicepComments } from './infra-files.js';

/** Built-in role definition ids the templates may use, with their names (Azure built-in roles reference). */
const BUILT_IN_ROLES: Readonly<Record<string, string>> = {
  'b7e6dc6d-f1e8-4753-8033-0f276bb0955b': 'Storage Blob Data Owner',
  '974c5e8b-45b9-4653-ba55-5f855dd0fb88': 'Storage Queue Data Contributor',
  '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3': 'Storage Table Data Contributor',
  'acdd72a7-3385-48ef-bd42-f606fba81ae7': 'Reader',
  '3913510d-42f4-4e42-8a64-420c390055eb': 'Monitoring Metrics Publisher',
  '4633458b-17de-408a-b874-0445c86b69e6': 'Key Vault Secrets User',
  'b86a8fe4-44ce-4948-aee5-eccb2c155cd7': 'Key Vault Secrets Officer',
};
const OWNER = '8e3af657-a8ff-443c-a75c-2fe8c4bcb635';
const CONTRIBUTOR = 'b24988ac-6180-42a0-ab88-20f7382dd24c';

const GUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;
const bicep = infraFiles('.bicep');
const allInfraText = [...bicep, ...infraFiles('.json'), ...infraFiles('.sh')];

describe('role assignments', () => {
  it('use only allow-listed built-in role ids, each named in a comment on the same or previous line', () => {
    const used = new Set<string>();
    for (const file of bicep) {
      const lines = file.text.split('\n');
      lines.forEach((line, i) => {
        for (const match of line.matchAll(GUID)) {
          const id = match[0].toLowerCase();
          const name = BUILT_IN_ROLES[id];
          expect(name, `${file.path}:${i + 1}: ${id} is not an allow-listed built-in role id`).toBeDefined();
          const comment = `${lines[i - 1] ?? ''}\n${line}`;
          expect(comment, `${file.path}:${i + 1}: comment naming "${name}"`).toMatch(new RegExp(`//.*\\b${name}\\b`));
          used.add(name!);
        }
      });
    }
    for (const needed of [
      'Storage Blob Data Owner',
      'Storage Queue Data Contributor',
      'Storage Table Data Contributor',
      'Reader',
      'Monitoring Metrics Publisher',
      'Key Vault Secrets User',
    ]) {
      expect(used.has(needed), `${needed} is granted`).toBe(true);
    }
  });

  it('never grant Owner or Contributor, nor look roles up by name', () => {
    for (const file of allInfraText) {
      expect(file.text.toLowerCase(), file.path).not.toContain(OWNER);
      expect(file.text.toLowerCase(), file.path).not.toContain(CONTRIBUTOR);
    }
    for (const file of bicep) {
      expect(file.text, file.path).not.toMatch(/roleDefinitionName|'(?:Owner|Contributor|User Access Administrator)'/);
    }
  });

  it('grant storage roles on the storage account, not wider', () => {
    const storage = stripBicepComments(readText('infra/modules/storage.bicep'));
    const assignments = bicepResources(storage).filter((r) => r.type === 'Microsoft.Authorization/roleAssignments');
    expect(assignments).toHaveLength(4);
    for (const a of assignments) {
      // The account, or (evidence writer) the one container it writes.
      expect(a.body, a.name).toMatch(/scope:\s*storageAccount(?:::blobService::evidenceContainer)?\s*$/m);
      expect(a.body, a.name).toMatch(/principalType:\s*'ServicePrincipal'/);
    }
  });

  it('grant Key Vault and Application Insights roles on those resources', () => {
    const kv = bicepResources(stripBicepComments(readText('infra/modules/key-vault.bicep')))
      .filter((r) => r.type === 'Microsoft.Authorization/roleAssignments');
    expect(kv.length).toBeGreaterThan(0);
    for (const a of kv) expect(a.body, a.name).toMatch(/scope:\s*vault\b/);
    const ai = bicepResources(stripBicepComments(readText('infra/modules/monitoring.bicep')))
      .filter((r) => r.type === 'Microsoft.Authorization/roleAssignments');
    expect(ai).toHaveLength(1);
    expect(ai[0]!.body).toMatch(/scope:\s*applicationInsights\b/);
  });
});

/** A role assignment of a Bicep file: the role it grants (resolved to a name) and to whom. */
interface Assignment {
  readonly name: string;
  /** Built-in role name, `param:<name>` (a role id passed in) or `resource:<name>` (a role defined in the file). */
  readonly role: string;
  readonly principalId: string | undefined;
  readonly scope: string | undefined;
  readonly body: string;
}

/**
 * The role assignments of one Bicep file, each with its role resolved through the file's own
 * `var x = '<guid>'` declarations: what the template grants, not which ids merely appear in it.
 */
function roleAssignments(path: string): Assignment[] {
  const code = stripBicepComments(readText(path));
  const vars = new Map([...code.matchAll(/^var\s+(\w+)\s*=\s*'([0-9a-fA-F-]{36})'/gm)].map((m) => [m[1]!, m[2]!.toLowerCase()]));
  const params = new Set([...code.matchAll(/^param\s+(\w+)/gm)].map((m) => m[1]!));
  const resources = new Set(bicepResources(code).map((r) => r.name));
  return bicepResources(code)
    .filter((r) => r.type === 'Microsoft.Authorization/roleAssignments')
    .map((r) => {
      const byId = /roleDefinitionId:\s*(?:subscriptionResourceId|tenantResourceId)\(\s*'Microsoft\.Authorization\/roleDefinitions'\s*,\s*(\w+)\s*\)/.exec(r.body);
      const byResource = /roleDefinitionId:\s*(\w+)\.id\b/.exec(r.body);
      let role = 'unresolved';
      if (byId) {
        const ref = byId[1]!;
        const guid = vars.get(ref);
        if (guid !== undefined) role = BUILT_IN_ROLES[guid] ?? `unknown:${guid}`;
        else if (params.has(ref)) role = `param:${ref}`;
      } else if (byResource && resources.has(byResource[1]!)) {
        role = `resource:${byResource[1]!}`;
      }
      return {
        name: r.name,
        role,
        principalId: /principalId:\s*([\w.]+)/.exec(r.body)?.[1],
        scope: /^\s*scope:\s*([\w.():]+)/m.exec(r.body)?.[1],
        body: r.body,
      };
    });
}

const rolesOf = (assignments: readonly Assignment[]): string[] => assignments.map((a) => a.role).sort();

describe('role assignments, file by file (what each template grants)', () => {
  it('exist only in the files that are meant to grant roles', () => {
    const granting = bicep.filter((f) => bicepResources(stripBicepComments(f.text)).some((r) => r.type === 'Microsoft.Authorization/roleAssignments')).map((f) => f.path).sort();
    expect(granting).toEqual([
      'infra/management-group-access.bicep',
      'infra/modules/fleet-access-subscription.bicep',
      'infra/modules/key-vault.bicep',
      'infra/modules/monitoring.bicep',
      'infra/modules/storage.bicep',
    ]);
  });

  it('storage: the app identity gets exactly the three data roles on the account, and the evidence writer role on the evidence container', () => {
    const assignments = roleAssignments('infra/modules/storage.bicep');
    expect(rolesOf(assignments)).toEqual(['Storage Blob Data Owner', 'Storage Queue Data Contributor', 'Storage Table Data Contributor', 'resource:evidenceWriterRole']);
    for (const a of assignments) {
      expect(a.principalId, a.name).toBe('principalId');
      expect(a.scope, a.name).toBe(a.role === 'resource:evidenceWriterRole' ? 'storageAccount::blobService::evidenceContainer' : 'storageAccount');
    }
  });

  it('storage: evidence is write-once: WORM policy, a writer role without delete, and no blob-changing Owner action in its container', () => {
    const code = stripBicepComments(readText('infra/modules/storage.bicep'));
    expect(code).toMatch(/resource worm 'immutabilityPolicies' = \{[\s\S]*?immutabilityPeriodSinceCreationInDays:\s*evidenceRetentionDays/);
    const role = bicepResources(code).find((r) => r.name === 'evidenceWriterRole');
    const dataActions = [...(role?.body ?? '').matchAll(/'(Microsoft\.Storage\/[^']+)'/g)].map((m) => m[1]);
    expect(dataActions).toEqual([
      'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read',
      'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write',
      'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/add/action',
    ]);
    expect(role?.body).toMatch(/actions:\s*\[\]/);
    const owner = roleAssignments('infra/modules/storage.bicep').find((a) => a.role === 'Storage Blob Data Owner');
    expect(owner?.body).toMatch(/conditionVersion:\s*'2\.0'/);
    for (const action of ['blobs/write', 'blobs/add/action', 'blobs/delete', 'blobs/deleteBlobVersion/action', 'blobs/permanentDelete/action']) {
      expect(code).toContain(`'Microsoft.Storage/storageAccounts/blobServices/containers/${action}'`);
    }
    expect(code).toMatch(/StringNotEquals \\'\$\{evidenceContainerName\}\\'/);
    expect(code).toMatch(/param evidenceContainerName string = 'evidence'/);
  });

  it('Key Vault: the app identity reads secrets (Key Vault Secrets User) and nothing more', () => {
    const assignments = roleAssignments('infra/modules/key-vault.bicep');
    const app = assignments.filter((a) => a.principalId === 'principalId');
    expect(rolesOf(app)).toEqual(['Key Vault Secrets User']);
    // Secrets Officer only for the optional deploying user, and only when one is given.
    const others = assignments.filter((a) => a.principalId !== 'principalId');
    expect(rolesOf(others)).toEqual(['Key Vault Secrets Officer']);
    expect(others[0]!.principalId).toBe('secretsOfficerPrincipalId');
    expect(others[0]!.body).toMatch(/=\s*if\s*\(\s*!empty\(secretsOfficerPrincipalId\)\s*\)/);
    for (const a of assignments) expect(a.scope, a.name).toBe('vault');
  });

  it('monitoring: the app identity publishes telemetry (Monitoring Metrics Publisher) on the component', () => {
    const assignments = roleAssignments('infra/modules/monitoring.bicep');
    expect(rolesOf(assignments)).toEqual(['Monitoring Metrics Publisher']);
    expect(assignments[0]!.principalId).toBe('principalId');
    expect(assignments[0]!.scope).toBe('applicationInsights');
  });

  it('each target subscription: exactly Reader and the custom role, to the app identity', () => {
    const assignments = roleAssignments('infra/modules/fleet-access-subscription.bicep');
    expect(rolesOf(assignments)).toEqual(['Reader', 'param:customRoleDefinitionGuid']);
    for (const a of assignments) {
      expect(a.principalId, a.name).toBe('principalId');
      expect(a.body, a.name).toMatch(/principalType:\s*'ServicePrincipal'/);
    }
  });

  it('management group: exactly Reader and the custom role defined there, to the app identity', () => {
    const assignments = roleAssignments('infra/management-group-access.bicep');
    expect(rolesOf(assignments)).toEqual(['Reader', 'resource:definition']);
    for (const a of assignments) {
      expect(a.principalId, a.name).toBe('principalId');
      expect(a.body, a.name).toMatch(/principalType:\s*'ServicePrincipal'/);
    }
  });
});

describe('no keys or key-bearing connection strings', () => {
  it('has no listKeys, SAS listing, account keys or connection strings with keys', () => {
    for (const file of allInfraText) {
      for (const banned of [/listKeys\s*\(/i, /listAccountSas|listServiceSas/i, /AccountKey=/i, /DefaultEndpointsProtocol=/i, /SharedAccessSignature=/i, /\.primaryKey\b/]) {
        expect(file.text, `${file.path} ${banned}`).not.toMatch(banned);
      }
    }
  });
});

describe('storage account', () => {
  const storage = stripBicepComments(readText('infra/modules/storage.bicep'));
  const account = bicepResources(storage).find((r) => r.type === 'Microsoft.Storage/storageAccounts');

  it('disables shared keys and public blob access and requires TLS 1.2 over HTTPS', () => {
    expect(account).toBeDefined();
    const body = account!.body;
    expect(body).toMatch(/allowSharedKeyAccess:\s*false/);
    expect(body).toMatch(/allowBlobPublicAccess:\s*false/);
    expect(body).toMatch(/minimumTlsVersion:\s*'TLS1_2'/);
    expect(body).toMatch(/supportsHttpsTrafficOnly:\s*true/);
    expect(body).toMatch(/defaultToOAuthAuthentication:\s*true/);
    expect(body).not.toMatch(/publicAccess:\s*'(?:Blob|Container)'/);
  });

  it('is the only storage account, so no other account can reintroduce keys', () => {
    const accounts = bicep.flatMap((f) => bicepResources(stripBicepComments(f.text)).filter((r) => r.type === 'Microsoft.Storage/storageAccounts'));
    expect(accounts).toHaveLength(1);
  });
});

describe('Key Vault', () => {
  it('uses the RBAC permission model with purge protection and no access policies', () => {
    const kv = stripBicepComments(readText('infra/modules/key-vault.bicep'));
    expect(kv).toMatch(/enableRbacAuthorization:\s*true/);
    expect(kv).toMatch(/enablePurgeProtection:\s*true/);
    expect(kv).not.toMatch(/accessPolicies/);
  });
});

describe('custom role at the target scope', () => {
  const role = readJson('infra/fleet-role.json') as { actions: string[]; justification: Record<string, string> };
  const required = [
    'Microsoft.Authorization/policyAssignments/read',
    'Microsoft.Authorization/policyAssignments/write',
    'Microsoft.PolicyInsights/remediations/write',
    'Microsoft.PolicyInsights/policyStates/queryResults/action',
    'Microsoft.PolicyInsights/policyStates/triggerEvaluation/action',
  ];

  it('holds exactly the actions rollouts, remediations, policy queries and the Activity Log watch need', () => {
    // Pinned: every action is used by adapters/arm (no Policy States summarize: nothing calls it).
    expect([...role.actions].sort()).toEqual([
      ...required,
      'Microsoft.Authorization/policyAssignments/delete',
      'Microsoft.PolicyInsights/remediations/read',
      'Microsoft.Insights/eventtypes/values/read',
    ].sort());
  });

  it('has no wildcard, no duplicate, only policy and Activity Log read actions, each justified', () => {
    expect(new Set(role.actions).size).toBe(role.actions.length);
    for (const action of role.actions) {
      expect(action, 'no wildcard').not.toContain('*');
      expect(action).toMatch(/^Microsoft\.(?:Authorization\/policyAssignments\/|PolicyInsights\/|Insights\/eventtypes\/values\/read$)/);
      expect(role.justification[action]?.length ?? 0, `justification for ${action}`).toBeGreaterThan(20);
    }
    expect(Object.keys(role.justification).sort()).toEqual([...role.actions].sort());
  });

  it('is the only permission set of every role definition, in both target modes', () => {
    const definitions = bicep.filter((f) => /Microsoft\.Authorization\/roleDefinitions@/.test(f.text));
    // storage.bicep defines the evidence writer (data actions on one container), checked with the storage roles.
    expect(definitions.map((f) => f.path).sort()).toEqual(['infra/management-group-access.bicep', 'infra/modules/fleet-role-definition.bicep', 'infra/modules/storage.bicep']);
    for (const f of definitions.filter((d) => d.path !== 'infra/modules/storage.bicep')) {
      const code = stripBicepComments(f.text);
      expect(code, f.path).toMatch(/loadJsonContent\('(?:\.\.\/)?fleet-role\.json'\)/);
      expect(code, f.path).toMatch(/actions:\s*fleetRole\.actions/);
      expect(code, f.path).toMatch(/dataActions:\s*\[\]/);
      expect(code, f.path).not.toMatch(/'\*'|'\*\/|'Microsoft\.[^'\n]*\*[^'\n]*'/);
    }
  });

  it('is granted with Reader in each target subscription, or at the management group by the hook', () => {
    const sub = stripBicepComments(readText('infra/modules/fleet-access-subscription.bicep'));
    expect(sub).toMatch(/targetScope = 'subscription'/);
    expect(sub).toMatch(/customRoleDefinitionGuid/);
    const mg = stripBicepComments(readText('infra/management-group-access.bicep'));
    expect(mg).toMatch(/targetScope = 'managementGroup'/);
    expect(mg).toMatch(/assignableScopes:\s*\[managementGroup\(\)\.id\]/);
    const main = stripBicepComments(readText('infra/main.bicep'));
    expect(main).toMatch(/scope:\s*subscription\(subscriptionId\)/);
    expect(readText('infra/scripts/grant-management-group.sh')).toMatch(/az deployment mg create[\s\S]*management-group-access\.bicep|template=.*management-group-access\.bicep/);
  });
});
