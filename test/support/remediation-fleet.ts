import { POLICY_IDS } from '../../domain/control-catalog.js';
import { generateFleet } from '../../local/arm-emulator/fleet/index.js';
import type { FleetModel } from '../../local/arm-emulator/fleet-model.js';

/**
 * The demo fleet plus what Policy Insights reports for the "install the Azure Policy extension"
 * DeployIfNotExists definition once assigned: non-compliant where the extension is missing or failed.
 */
export function demoFleetWithExtensionFindings(now: Date): FleetModel {
  const fleet = generateFleet({ mode: 'demo' }, now);
  const healthy = (ext: Record<string, unknown>): boolean => {
    const p = (ext['properties'] ?? {}) as Record<string, unknown>;
    return String(p['extensionType']).toLowerCase() === 'microsoft.policyinsights' && p['provisioningState'] === 'Succeeded';
  };
  for (const c of fleet.clusters) {
    if (!c.extensions.some(healthy)) {
      c.violations.push({ policyDefinitionName: POLICY_IDS.arcPolicyExtensionDeployIfNotExists, components: [{ id: 'kube-system/azurepolicy', name: 'azurepolicy', type: 'extension' }] });
    }
  }
  return fleet;
}
