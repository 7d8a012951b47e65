/**
 * What a rollout plan can learn about offending in-cluster resources from the latest STORED
 * evaluation, without asking ARM again. The rollout's own policy-state query cannot name them: at
 * subscription scope the SDK drops `$expand=components`, so a live dry run knows only which policies
 * are non-compliant. The evaluation, however, kept the offenders of each failed policy control
 * (`evaluate-cluster.ts`): first one label per non-compliant policy state, then one per non-compliant
 * component, in a bounded list (`offender-list.ts`).
 *
 * The labels are the stored form, so they are read back here:
 * - `policy <referenceId> (<definitionName>) via assignment <assignmentName>` or
 *   `policy <definitionName> via assignment <assignmentName>`;
 * - `component <type> <id>` or `component <id>`.
 * A control's components are not tied to one policy in storage, so they are attributed only when the
 * control's offenders name exactly one policy; otherwise the resources stay unknown (never guessed).
 */
import type { ControlResult } from './model.js';

const POLICY_LABEL = /^policy (.+?)(?: \(([^()]+)\))? via assignment (.+)$/;
const COMPONENT_PREFIX = 'component ';

interface ParsedPolicy {
  /** Policy key as `policyKey` in the planner builds it: the reference id, else the definition name (lower-case). */
  readonly key: string;
  readonly assignmentName: string;
}

function parsePolicy(label: string): ParsedPolicy | undefined {
  const m = POLICY_LABEL.exec(label);
  if (!m || m[1] === undefined || m[3] === undefined) return undefined;
  // With a reference id the label is `<ref> (<definition>)`; without, group 1 is the definition name.
  return { key: m[1].toLowerCase(), assignmentName: m[3].toLowerCase() };
}

/**
 * In-cluster offenders per policy key of the given assignments, read from one cluster's stored
 * control results. Only failed controls with reason `noncompliant` carry components; a control whose
 * offenders name more than one policy contributes nothing (its components could belong to any of
 * them). A label cut by the offender list's length bound does not parse and is skipped.
 *
 * @param controls the cluster's latest stored control results
 * @param assignmentNames names (last id segment) of the assignments whose policies are wanted, any case
 * @returns policy key → distinct component labels without the `component ` prefix, in stored order
 */
export function storedOffendersByPolicy(controls: readonly ControlResult[], assignmentNames: readonly string[]): Record<string, string[]> {
  const wanted = new Set(assignmentNames.map((n) => n.toLowerCase()));
  const out = new Map<string, Set<string>>();
  for (const control of controls) {
    if (control.status !== 'fail' || control.reason !== 'noncompliant' || control.offenders === undefined) continue;
    const policies: ParsedPolicy[] = [];
    const components: string[] = [];
    for (const item of control.offenders.items) {
      if (item.startsWith(COMPONENT_PREFIX)) components.push(item.slice(COMPONENT_PREFIX.length));
      else {
        const p = parsePolicy(item);
        if (p !== undefined) policies.push(p);
      }
    }
    const keys = new Set(policies.map((p) => p.key));
    const only = policies[0];
    if (keys.size !== 1 || only === undefined || components.length === 0) continue;
    if (!policies.some((p) => wanted.has(p.assignmentName))) continue;
    const set = out.get(only.key) ?? new Set<string>();
    for (const c of components) set.add(c);
    out.set(only.key, set);
  }
  return Object.fromEntries([...out.entries()].map(([k, v]) => [k, [...v]]));
}
