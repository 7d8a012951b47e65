/**
 * Microsoft.PolicyInsights policyMetadata, the shapes of `PolicyMetadata_GetResource` and
 * `PolicyMetadata_List` in Azure/azure-rest-api-specs (examples at 2019-10-01; `@azure/arm-policyinsights`
 * 6.0.0 sends 2024-10-01, whose policyMetadata operations are the same):
 * - GET `/providers/Microsoft.PolicyInsights/policyMetadata/{resourceName}` (`getResource`): the full
 *   resource; an unknown name is 404;
 * - GET `/providers/Microsoft.PolicyInsights/policyMetadata` (`list`): the slim resources (no
 *   `description` or `requirements`), `$top` caps how many, paged with `nextLink`.
 *
 * The resources are `fleet.policyMetadata` when given (tests load the official examples). Otherwise
 * there is one per group named in the five regulatory initiatives, with `metadataId` spelled as the
 * official example spells it (the name with spaces for underscores) and no title, category or owner:
 * the real texts are Microsoft's and are not in the shared material, so the emulator does not make
 * them up, and reports show those titles as absent (a test fleet may add some).
 */
import { REGULATORY_INITIATIVES, REGULATORY_FRAMEWORK_IDS } from '../../../../domain/regulatory-mappings.generated.js';
import type { ArmResource } from '../../fleet-model.js';
import { armError, slicePage, type ArmRequestContext, type ArmResult, type ArmRoute } from '../arm-http.js';
import type { EmulatorState } from '../../server/emulator-state.js';

const TYPE = 'Microsoft.PolicyInsights/policyMetadata';
export const POLICY_METADATA_API_VERSIONS: readonly string[] = ['2019-10-01', '2024-10-01'];
/** Resources per page of `list`. */
export const POLICY_METADATA_PAGE_SIZE = 250;
/** Properties `list` leaves out (SlimPolicyMetadata). */
const NOT_IN_LIST = ['description', 'requirements'];

/** The default resources: one per regulatory group, without the texts the emulator cannot know. */
export function regulatoryPolicyMetadata(): ArmResource[] {
  const names = [...new Set(REGULATORY_FRAMEWORK_IDS.flatMap((f) => REGULATORY_INITIATIVES[f].groups))];
  return names.map((name) => ({
    properties: { metadataId: name.replace(/_/g, ' '), metadata: {} },
    id: `/providers/${TYPE}/${name}`,
    name,
    type: TYPE,
  }));
}

function slim(resource: ArmResource): ArmResource {
  const properties = resource['properties'];
  if (typeof properties !== 'object' || properties === null) return resource;
  const kept = Object.fromEntries(Object.entries(properties).filter(([k]) => !NOT_IN_LIST.includes(k)));
  return { ...resource, properties: kept };
}

export function policyMetadataRoutes(state: EmulatorState): ArmRoute[] {
  let defaults: ArmResource[] | undefined;
  const all = (): ArmResource[] => state.fleet.policyMetadata ?? (defaults ??= regulatoryPolicyMetadata());
  const badVersion = (ctx: ArmRequestContext): ArmResult | undefined =>
    ctx.apiVersion !== undefined && POLICY_METADATA_API_VERSIONS.includes(ctx.apiVersion)
      ? undefined
      : armError(400, 'InvalidApiVersionParameter', `The api-version '${ctx.apiVersion ?? ''}' is invalid. The supported versions are '${POLICY_METADATA_API_VERSIONS.join("', '")}'.`);
  return [
    {
      name: 'policyMetadata.getResource',
      method: 'GET',
      pattern: /^\/providers\/Microsoft\.PolicyInsights\/policyMetadata\/([^/]+)\/?$/i,
      handle: (ctx) => {
        const bad = badVersion(ctx);
        if (bad !== undefined) return bad;
        const name = (ctx.params[0] ?? '').toLowerCase();
        const found = all().find((m) => m.name.toLowerCase() === name);
        return found === undefined
          ? armError(404, 'PolicyMetadataNotFound', `The policy metadata '${ctx.params[0] ?? ''}' could not be found.`)
          : { status: 200, body: structuredClone(found) };
      },
    },
    {
      name: 'policyMetadata.list',
      method: 'GET',
      pattern: /^\/providers\/Microsoft\.PolicyInsights\/policyMetadata\/?$/i,
      handle: (ctx) => {
        const bad = badVersion(ctx);
        if (bad !== undefined) return bad;
        const rawTop = ctx.url.searchParams.get('$top');
        const top = rawTop === null ? undefined : Number(rawTop);
        if (top !== undefined && (!Number.isInteger(top) || top < 1)) return armError(400, 'InvalidQueryParameterValue', `The value '${rawTop}' of the query parameter '$top' is invalid.`);
        const items = all().slice(0, top ?? undefined).map(slim);
        const page = slicePage(items, ctx, POLICY_METADATA_PAGE_SIZE);
        return { status: 200, body: { value: structuredClone(page.items), ...(page.nextLink !== undefined ? { nextLink: page.nextLink } : {}) } };
      },
    },
  ];
}
