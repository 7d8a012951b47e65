/**
 * Every stored record codec, by kind: the rolling-deployment test holds a frozen fixture of each
 * kind's current version (`test/fixtures/stored-records/<kind>/v<version>.json`) and proves every
 * frozen version is still read. A new entity kind adds its codec here.
 */
import { auditCodec } from './audit-records.js';
import { clusterStateCodec } from './cluster-records.js';
import { controlPlaneEventCodec, controlPlaneExtensionTypesCodec, controlPlaneWatchCodec } from './control-plane-records.js';
import { historyCodec } from './history-records.js';
import { remediationCodec } from './remediation-records.js';
import { summaryCodec, trendSlicesCodec } from './summary-records.js';
import { deliveryCodec, webhookCodec } from './webhook-records.js';
import { exceptionCodec } from './exception-records.js';
import { outcomeCodec, outcomeCountCodec, runCodec } from './run-records.js';
import { rolloutCodec } from './rollout-records.js';
import { inboundClaimCodec } from './inbound-claim-records.js';
import { serviceNowWatermarkCodec } from './servicenow-watermark-records.js';

export const STORED_RECORD_CODECS: readonly { readonly kind: string; readonly version: number }[] = [
  runCodec,
  outcomeCodec,
  outcomeCountCodec,
  // Its fixture holds the cluster's `clusterindex` rows too (`cluster-index` kind, same version).
  clusterStateCodec,
  historyCodec,
  // Its fixture holds the trend point too (`trend-point` kind, same version).
  summaryCodec,
  trendSlicesCodec,
  exceptionCodec,
  auditCodec,
  controlPlaneEventCodec,
  controlPlaneWatchCodec,
  controlPlaneExtensionTypesCodec,
  // Its fixture holds the request's `index` row too (`remediation-index` kind, since version 2).
  remediationCodec,
  webhookCodec,
  deliveryCodec,
  // Its fixture holds the assignment lock and the event log too (`rollout-lock`, `rollout-event`, same version).
  rolloutCodec,
  // Its fixture holds the claim's expiry entry too (`inbound-claim-expiry`, same version).
  inboundClaimCodec,
  serviceNowWatermarkCodec,
];
