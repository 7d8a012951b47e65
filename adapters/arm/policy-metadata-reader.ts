/**
 * Requirement titles from Azure Policy metadata (`Microsoft.PolicyInsights/policyMetadata`, api-version
 * 2019-10-01) through `@azure/arm-policyinsights`: one paged `list` (the slim resources carry `title`)
 * rather than a `getResource` per requirement, keeping only the groups the frameworks name.
 */
import { PolicyInsightsClient } from '@azure/arm-policyinsights';
import type { PolicyMetadataSource } from '../../application/framework-report-service.js';
import { FRAMEWORK_IDS, frameworkRequirements } from '../../domain/frameworks.js';
import { sdkClientOptions, type ArmConnection } from './arm-client-options.js';

export class ArmPolicyMetadataReader implements PolicyMetadataSource {
  private readonly client: PolicyInsightsClient;
  private readonly wanted: ReadonlySet<string>;

  constructor(connection: ArmConnection) {
    this.client = new PolicyInsightsClient(connection.credential, sdkClientOptions(connection));
    this.wanted = new Set(FRAMEWORK_IDS.flatMap((f) => frameworkRequirements(f).flatMap((r) => (r.policyMetadataName !== null ? [r.policyMetadataName.toLowerCase()] : []))));
  }

  async listTitles(): Promise<ReadonlyMap<string, string>> {
    const titles = new Map<string, string>();
    for await (const m of this.client.policyMetadataOperations.list()) {
      const name = m.name;
      const title = m.title?.trim();
      if (name === undefined || title === undefined || title === '' || !this.wanted.has(name.toLowerCase())) continue;
      titles.set(name, title);
    }
    return titles;
  }
}
