/**
 * Local Azure Resource Manager emulator (development and tests only; never imported by production code).
 * See README.md in this folder for routes, faults and how clients trust its certificate.
 */
export { startArmEmulator, type ArmEmulator, type ArmEmulatorOptions } from './server/start-arm-emulator.js';
export type { DerivePolicyStates } from './wire/arm-http.js';
export type { ComplianceLag } from './behaviours/compliance-lag.js';
export { FaultInjector, type FaultOptions, type ThrottleRule, type ServerErrorRule, type LatencyRule, type FailPageOnceRule } from './behaviours/fault-injector.js';
export { RequestCounter, type RequestRecord } from './server/request-counter.js';
export { parseODataFilter, ODataFilterError } from './wire/odata-filter.js';
export type * from './fleet-model.js';
