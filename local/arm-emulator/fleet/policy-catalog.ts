/**
 * The built-in Azure Policy definitions the emulator assigns, with the facts Policy Insights reports
 * about them. Ids are real built-ins (test/fixtures/azure-policy-builtins, or named in the control
 * catalog); nothing here is invented except which of them a fleet assigns.
 */

export interface BuiltinDefinition {
  /** Definition GUID (lower-case). */
  readonly name: string;
  readonly displayName: string;
  /** `properties.metadata.version`, reported as `policyDefinitionVersion`; undefined when not known here. */
  readonly version: string | undefined;
  /** The definition's `effect` parameter default (what an assignment without `effect` gets). */
  readonly defaultEffect: string;
}

const definitions = [
  { name: '95edb821-ddaf-4404-9732-666045e056b4', displayName: 'Kubernetes cluster should not allow privileged containers', version: '9.1.0', defaultEffect: 'Deny' },
  { name: '82985f06-dc18-4a48-bc1c-b9f4f0098cfe', displayName: 'Kubernetes cluster pods should only use approved host network and port range', version: undefined, defaultEffect: 'Audit' },
  { name: '47a1ee2f-2a2a-4576-bf2a-e0e36709c2b8', displayName: 'Kubernetes cluster containers should not share host process ID or host IPC namespace', version: '5.1.0', defaultEffect: 'Audit' },
  { name: 'c26596ff-4d70-4e6a-9a30-c2506bd2f80c', displayName: 'Kubernetes cluster containers should only use allowed capabilities', version: undefined, defaultEffect: 'Audit' },
  { name: '098fc59e-46c7-4d99-9b16-64990e543d75', displayName: 'Kubernetes cluster pod hostPath volumes should only use allowed host paths', version: undefined, defaultEffect: 'Audit' },
  { name: '1c6e92c9-99f0-4e55-9cf2-0c234dc48f99', displayName: 'Kubernetes clusters should not allow container privilege escalation', version: undefined, defaultEffect: 'Audit' },
  { name: '16697877-1118-4fb1-9b65-9898ec2509ec', displayName: 'Kubernetes cluster pods should only use allowed volume types', version: undefined, defaultEffect: 'Audit' },
  { name: 'f06ddb64-5fa3-4b77-b166-acb36f7f6042', displayName: 'Kubernetes cluster pods and containers should only run with approved user and group IDs', version: '6.1.1', defaultEffect: 'Audit' },
  { name: '975ce327-682c-4f2e-aa46-b9598289b86c', displayName: 'Kubernetes cluster containers should only use allowed seccomp profiles', version: undefined, defaultEffect: 'Audit' },
  { name: 'febd0533-8e55-448f-b837-bd0e06f16469', displayName: 'Kubernetes cluster containers should only use allowed images', version: '9.2.0', defaultEffect: 'Deny' },
  { name: 'b1a9997f-2883-4f12-bdff-2280f99b5915', displayName: 'Ensure cluster containers have readiness or liveness probes configured', version: '3.2.0', defaultEffect: 'Audit' },
  { name: '423dd1ba-798e-40e4-9c4d-b6902674b423', displayName: 'Kubernetes clusters should disable automounting API credentials', version: undefined, defaultEffect: 'Audit' },
  { name: 'e345eecc-fa47-480f-9e88-67dcc122b164', displayName: 'Kubernetes cluster containers CPU and memory resource limits should not exceed the specified limits', version: '9.2.0', defaultEffect: 'Deny' },
  { name: '1a5b4dca-0b6f-4cf5-907c-56316bc1bf3d', displayName: 'Kubernetes clusters should be accessible only over HTTPS', version: '8.1.0', defaultEffect: 'Deny' },
  { name: '6b2122c1-8120-4ff5-801b-17625a355590', displayName: 'Azure Arc enabled Kubernetes clusters should have the Azure Policy extension installed', version: '1.1.0', defaultEffect: 'AuditIfNotExists' },
  { name: '8dfab9c4-fe7b-49ad-85e4-1e9be085358f', displayName: '[Preview]: Azure Arc enabled Kubernetes clusters should have Microsoft Defender for Cloud extension installed', version: '6.0.0-preview', defaultEffect: 'AuditIfNotExists' },
] as const satisfies readonly BuiltinDefinition[];

export const BUILTIN_DEFINITIONS: ReadonlyMap<string, BuiltinDefinition> = new Map(definitions.map((d) => [d.name, d]));

/** Definition GUIDs the control catalog reads (ARC-AC-02, ARC-PL-03, ARC-UP-01) and the PSS members the demo violates. */
export const DEF = {
  privileged: '95edb821-ddaf-4404-9732-666045e056b4',
  hostNetwork: '82985f06-dc18-4a48-bc1c-b9f4f0098cfe',
  hostPath: '098fc59e-46c7-4d99-9b16-64990e543d75',
  runAsRoot: 'f06ddb64-5fa3-4b77-b166-acb36f7f6042',
  seccomp: '975ce327-682c-4f2e-aa46-b9598289b86c',
  allowedImages: 'febd0533-8e55-448f-b837-bd0e06f16469',
  probes: 'b1a9997f-2883-4f12-bdff-2280f99b5915',
  automount: '423dd1ba-798e-40e4-9c4d-b6902674b423',
  resourceLimits: 'e345eecc-fa47-480f-9e88-67dcc122b164',
  httpsIngress: '1a5b4dca-0b6f-4cf5-907c-56316bc1bf3d',
  hostNamespace: '47a1ee2f-2a2a-4576-bf2a-e0e36709c2b8',
  policyExtension: '6b2122c1-8120-4ff5-801b-17625a355590',
  defenderExtension: '8dfab9c4-fe7b-49ad-85e4-1e9be085358f',
} as const;

export function policyDefinitionId(name: string): string {
  return `/providers/Microsoft.Authorization/policyDefinitions/${name}`;
}

export function policySetDefinitionId(name: string): string {
  return `/providers/Microsoft.Authorization/policySetDefinitions/${name}`;
}
