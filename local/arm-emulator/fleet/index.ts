/**
 * The emulator's fleet: generation (demo or scale mode), lookups and policy-state derivation.
 * Pure and deterministic: the same seed and `now` give a deep-equal fleet.
 */
import type { FleetModel } from '../fleet-model.js';
import { generateDemoFleet } from './demo-fleet.js';
import { generateScaleFleet, type ScaleFleetOptions } from './scale-fleet.js';

export type GenerateFleetOptions = { seed?: number; mode: 'demo' } | ({ seed?: number; mode: 'scale' } & ScaleFleetOptions);

export const DEFAULT_FLEET_SEED = 20_260_301;

export function generateFleet(options: GenerateFleetOptions, now: Date): FleetModel {
  const seed = options.seed ?? DEFAULT_FLEET_SEED;
  return options.mode === 'demo' ? generateDemoFleet(seed, now) : generateScaleFleet(seed, options, now);
}

export { findCluster, clustersInSubscription, clustersInResourceGroup } from './fleet-queries.js';
export { derivePolicyStates, type DerivePolicyStatesOptions } from './policy-states.js';
export { DEMO_SUBSCRIPTIONS, DEMO_TENANT_ID, DEMO_CLUSTER_NAMES } from './demo-fleet.js';
export type { ScaleFleetOptions } from './scale-fleet.js';
