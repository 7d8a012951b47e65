/**
 * Members of the two built-in Pod Security Standards initiatives, copied from the real definitions in
 * Azure/azure-policy (`built-in-policies/policySetDefinitions/Kubernetes/`). Kept as code so the emulator
 * needs nothing from `test/` at runtime; `test/unit/fleet/builtin-initiatives.test.ts` checks it against
 * the fixture JSON in `test/fixtures/azure-policy-builtins/`, so a refreshed fixture fails the test until
 * this module is regenerated.
 */
import type { PolicySetMember } from '../fleet-model.js';

export interface BuiltinInitiative {
  /** Initiative GUID (the policy set definition's `name`). */
  readonly name: string;
  readonly displayName: string;
  /** `properties.metadata.version` (reported as `policySetDefinitionVersion`). */
  readonly version: string;
  /** `properties.policyDefinitions`, in the initiative's order. */
  readonly members: readonly PolicySetMember[];
}

/** Kubernetes cluster pod security baseline standards for Linux-based workloads (v1.2.1). */
export const PSS_BASELINE_INITIATIVE: BuiltinInitiative = {
  name: 'a8640138-9b0a-4a28-b8cb-1666c838647d',
  displayName: 'Kubernetes cluster pod security baseline standards for Linux-based workloads',
  version: '1.2.1',
  members: [
    { policyDefinitionId: '/providers/Microsoft.Authorization/policyDefinitions/95edb821-ddaf-4404-9732-666045e056b4', policyDefinitionReferenceId: 'NoPrivilegedContainers' },
    { policyDefinitionId: '/providers/Microsoft.Authorization/policyDefinitions/82985f06-dc18-4a48-bc1c-b9f4f0098cfe', policyDefinitionReferenceId: 'BlockUsingHostNetwork' },
    { policyDefinitionId: '/providers/Microsoft.Authorization/policyDefinitions/47a1ee2f-2a2a-4576-bf2a-e0e36709c2b8', policyDefinitionReferenceId: 'BlockUsingHostProcessIDAndIPC' },
    { policyDefinitionId: '/providers/Microsoft.Authorization/policyDefinitions/c26596ff-4d70-4e6a-9a30-c2506bd2f80c', policyDefinitionReferenceId: 'ContainerCapabilities' },
    { policyDefinitionId: '/providers/Microsoft.Authorization/policyDefinitions/098fc59e-46c7-4d99-9b16-64990e543d75', policyDefinitionReferenceId: 'NoHostPathVolume' },
  ],
};

/** Kubernetes cluster pod security restricted standards for Linux-based workloads (v2.3.1). */
export const PSS_RESTRICTED_INITIATIVE: BuiltinInitiative = {
  name: '42b8ef37-b724-4e24-bbc8-7a7708edfe00',
  displayName: 'Kubernetes cluster pod security restricted standards for Linux-based workloads',
  version: '2.3.1',
  members: [
    { policyDefinitionId: '/providers/Microsoft.Authorization/policyDefinitions/95edb821-ddaf-4404-9732-666045e056b4', policyDefinitionReferenceId: 'NoPrivilegedContainers' },
    { policyDefinitionId: '/providers/Microsoft.Authorization/policyDefinitions/1c6e92c9-99f0-4e55-9cf2-0c234dc48f99', policyDefinitionReferenceId: 'NoPrivilegeEscalation' },
    { policyDefinitionId: '/providers/Microsoft.Authorization/policyDefinitions/82985f06-dc18-4a48-bc1c-b9f4f0098cfe', policyDefinitionReferenceId: 'BlockUsingHostNetwork' },
    { policyDefinitionId: '/providers/Microsoft.Authorization/policyDefinitions/47a1ee2f-2a2a-4576-bf2a-e0e36709c2b8', policyDefinitionReferenceId: 'BlockUsingHostProcessIDAndIPC' },
    { policyDefinitionId: '/providers/Microsoft.Authorization/policyDefinitions/c26596ff-4d70-4e6a-9a30-c2506bd2f80c', policyDefinitionReferenceId: 'ContainerCapabilities' },
    { policyDefinitionId: '/providers/Microsoft.Authorization/policyDefinitions/16697877-1118-4fb1-9b65-9898ec2509ec', policyDefinitionReferenceId: 'AllowedVolumeTypes' },
    { policyDefinitionId: '/providers/Microsoft.Authorization/policyDefinitions/f06ddb64-5fa3-4b77-b166-acb36f7f6042', policyDefinitionReferenceId: 'AllowedUsersGroups' },
    { policyDefinitionId: '/providers/Microsoft.Authorization/policyDefinitions/975ce327-682c-4f2e-aa46-b9598289b86c', policyDefinitionReferenceId: 'AllowedSeccompProfiles' },
  ],
};

/**
 * The `effect` parameter both initiatives declare (same text in both) and pass to every member as
 * `[parameters('effect')]`. The emulator's `policySetDefinitions.getBuiltIn` serves this parameter only
 * (not the namespace parameters): enough for a client to resolve a member's effect.
 */
export const PSS_EFFECT_PARAMETER = {
  type: 'String',
  metadata: {
    displayName: 'Effect',
    description:
      "'Audit' allows a non-compliant resource to be created or updated, but flags it as non-compliant. 'Deny' blocks the non-compliant resource creation or update. 'Disabled' turns off the policy.",
  },
  allowedValues: ['audit', 'Audit', 'deny', 'Deny', 'disabled', 'Disabled'],
  defaultValue: 'Audit',
} as const;

/** `properties.metadata.category` of both initiatives. */
export const PSS_CATEGORY = 'Kubernetes';

/** Initiative GUID (lower-case) → members: the shape of `FleetModel.policySets`. */
export function builtinPolicySets(): Record<string, readonly PolicySetMember[]> {
  return {
    [PSS_BASELINE_INITIATIVE.name]: PSS_BASELINE_INITIATIVE.members,
    [PSS_RESTRICTED_INITIATIVE.name]: PSS_RESTRICTED_INITIATIVE.members,
  };
}

export const BUILTIN_INITIATIVES: readonly BuiltinInitiative[] = [PSS_BASELINE_INITIATIVE, PSS_RESTRICTED_INITIATIVE];
