/**
 * Subscriptions (2022-12-01), Microsoft.Kubernetes/connectedClusters (2026-03-01 shape: resources
 * are served as stored, so every newer field survives) and Microsoft.KubernetesConfiguration
 * extensions / fluxConfigurations (2023-05-01).
 */
import type { ArmResource } from '../../fleet-model.js';
import { armError, notFound, sameId, slicePage, type ArmRequestContext, type ArmResult, type ArmRoute } from '../arm-http.js';
import type { EmulatorState } from '../../server/emulator-state.js';
import { clustersInResourceGroup, clustersInSubscription } from '../../fleet/fleet-queries.js';

const SUB = '/subscriptions/([^/]+)';
const RG = '/resourceGroups/([^/]+)';
const CLUSTERS = '/providers/Microsoft\\.Kubernetes/connectedClusters';
/** Extensions and Flux configurations hang off any cluster resource provider (connectedClusters, managedClusters, provisionedClusters). */
const CLUSTER_PARENT = `${SUB}${RG}/providers/([^/]+)/([^/]+)/([^/]+)`;

export function subscriptionNotFound(subscriptionId: string): ArmResult {
  return armError(404, 'SubscriptionNotFound', `The subscription '${subscriptionId}' could not be found.`);
}

function list(state: EmulatorState, ctx: ArmRequestContext, items: readonly unknown[]): ArmResult {
  const page = slicePage(items, ctx, state.pageSizes.resources);
  return { status: 200, body: { value: page.items, ...(page.nextLink ? { nextLink: page.nextLink } : {}) } };
}

function subscriptionResource(state: EmulatorState, s: EmulatorState['fleet']['subscriptions'][number]): Record<string, unknown> {
  return {
    id: `/subscriptions/${s.subscriptionId}`,
    authorizationSource: 'RoleBased',
    managedByTenants: [],
    subscriptionId: s.subscriptionId,
    tenantId: state.fleet.tenantId,
    displayName: s.displayName,
    state: s.state,
    subscriptionPolicies: { locationPlacementId: 'Public_2014-09-01', quotaId: 'PayAsYouGo_2014-09-01', spendingLimit: 'Off' },
  };
}

function childList(state: EmulatorState, ctx: ArmRequestContext, pick: (c: { extensions: ArmResource[]; fluxConfigurations: ArmResource[] }) => ArmResource[]): ArmResult {
  const [sub, rg, rp, type, name] = ctx.params as [string, string, string, string, string];
  const clusterId = `/subscriptions/${sub}/resourceGroups/${rg}/providers/${rp}/${type}/${name}`;
  const cluster = state.findCluster(clusterId);
  if (!cluster) return notFound(clusterId);
  return list(state, ctx, pick(cluster));
}

function childGet(state: EmulatorState, ctx: ArmRequestContext, pick: (c: { extensions: ArmResource[]; fluxConfigurations: ArmResource[] }) => ArmResource[]): ArmResult {
  const [sub, rg, rp, type, name, child] = ctx.params as [string, string, string, string, string, string];
  const clusterId = `/subscriptions/${sub}/resourceGroups/${rg}/providers/${rp}/${type}/${name}`;
  const cluster = state.findCluster(clusterId);
  const found = cluster ? pick(cluster).find((r) => sameId(r.name, child)) : undefined;
  return found ? { status: 200, body: found } : notFound(`${clusterId}/.../${child}`);
}

export function resourceRoutes(state: EmulatorState): ArmRoute[] {
  return [
    {
      name: 'subscriptions.list',
      method: 'GET',
      pattern: /^\/subscriptions\/?$/i,
      handle: (ctx) => list(state, ctx, state.fleet.subscriptions.map((s) => subscriptionResource(state, s))),
    },
    {
      name: 'subscriptions.get',
      method: 'GET',
      pattern: new RegExp(`^${SUB}/?$`, 'i'),
      handle: (ctx) => {
        const s = state.fleet.subscriptions.find((x) => sameId(x.subscriptionId, ctx.params[0]!));
        return s ? { status: 200, body: subscriptionResource(state, s) } : subscriptionNotFound(ctx.params[0]!);
      },
    },
    {
      name: 'connectedClusters.listBySubscription',
      method: 'GET',
      pattern: new RegExp(`^${SUB}${CLUSTERS}/?$`, 'i'),
      handle: (ctx) => list(state, ctx, clustersInSubscription(state.fleet, ctx.params[0]!).map((c) => c.resource)),
    },
    {
      name: 'connectedClusters.listByResourceGroup',
      method: 'GET',
      pattern: new RegExp(`^${SUB}${RG}${CLUSTERS}/?$`, 'i'),
      handle: (ctx) =>
        list(state, ctx, clustersInResourceGroup(state.fleet, ctx.params[0]!, ctx.params[1]!).map((c) => c.resource)),
    },
    {
      name: 'connectedClusters.get',
      method: 'GET',
      pattern: new RegExp(`^${SUB}${RG}${CLUSTERS}/([^/]+)/?$`, 'i'),
      handle: (ctx) => {
        const c = state.findCluster(ctx.url.pathname.replace(/\/$/, ''));
        return c ? { status: 200, body: c.resource } : notFound(ctx.url.pathname);
      },
    },
    {
      name: 'extensions.list',
      method: 'GET',
      pattern: new RegExp(`^${CLUSTER_PARENT}/providers/Microsoft\\.KubernetesConfiguration/extensions/?$`, 'i'),
      handle: (ctx) => childList(state, ctx, (c) => c.extensions),
    },
    {
      name: 'extensions.get',
      method: 'GET',
      pattern: new RegExp(`^${CLUSTER_PARENT}/providers/Microsoft\\.KubernetesConfiguration/extensions/([^/]+)/?$`, 'i'),
      handle: (ctx) => childGet(state, ctx, (c) => c.extensions),
    },
    {
      name: 'fluxConfigurations.list',
      method: 'GET',
      pattern: new RegExp(`^${CLUSTER_PARENT}/providers/Microsoft\\.KubernetesConfiguration/fluxConfigurations/?$`, 'i'),
      handle: (ctx) => childList(state, ctx, (c) => c.fluxConfigurations),
    },
    {
      name: 'fluxConfigurations.get',
      method: 'GET',
      pattern: new RegExp(`^${CLUSTER_PARENT}/providers/Microsoft\\.KubernetesConfiguration/fluxConfigurations/([^/]+)/?$`, 'i'),
      handle: (ctx) => childGet(state, ctx, (c) => c.fluxConfigurations),
    },
  ];
}
