/**
 * host.json and app-setting handling with the Functions host's semantics: TimeSpan durations
 * (`hh:mm:ss`, `d.hh:mm:ss`), `extensions.http.routePrefix`, `extensions.queues` defaults of the
 * Storage extension v5, and `%SETTING%` binding expressions resolved from app settings (`process.env`).
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';

export class HostConfigurationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HostConfigurationError';
  }
}

export interface QueuesOptions {
  readonly batchSize: number;
  readonly newBatchThreshold: number;
  /** Delay before a failed message becomes visible again (ms). */
  readonly visibilityTimeoutMs: number;
  /** Upper bound of the idle back-off between polls (ms). */
  readonly maxPollingIntervalMs: number;
  readonly maxDequeueCount: number;
  readonly messageEncoding: 'base64' | 'none';
}

export interface HostOptions {
  readonly routePrefix: string;
  readonly queues: QueuesOptions;
}

/** Parses a .NET TimeSpan string (`[d.]hh:mm:ss[.fff]`) to milliseconds, as host.json durations are written. */
export function parseTimeSpan(value: string, what: string): number {
  const match = /^(?:(\d+)\.)?(\d{1,2}):(\d{1,2}):(\d{1,2})(?:\.(\d{1,7}))?$/.exec(value.trim());
  if (!match) throw new HostConfigurationError(`${what}: "${value}" is not a TimeSpan (expected hh:mm:ss).`);
  const [, days, hours, minutes, seconds, fraction] = match;
  const ms =
    ((Number(days ?? 0) * 24 + Number(hours)) * 60 + Number(minutes)) * 60_000 +
    Number(seconds) * 1000 +
    Math.round(Number(`0.${fraction ?? '0'}`) * 1000);
  return ms;
}

function asRecord(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

function intOption(source: Record<string, unknown>, key: string, fallback: number, min: number, max: number): number {
  const raw = source[key];
  if (raw === undefined) return fallback;
  if (typeof raw !== 'number' || !Number.isInteger(raw) || raw < min || raw > max) {
    throw new HostConfigurationError(`host.json extensions.queues.${key} must be an integer between ${min} and ${max}.`);
  }
  return raw;
}

function durationOption(source: Record<string, unknown>, key: string, fallbackMs: number): number {
  const raw = source[key];
  if (raw === undefined) return fallbackMs;
  if (typeof raw !== 'string') throw new HostConfigurationError(`host.json extensions.queues.${key} must be a TimeSpan string.`);
  return parseTimeSpan(raw, `host.json extensions.queues.${key}`);
}

/** Reads host.json from an object or a file path; missing sections take the host's defaults. */
export function loadHostOptions(hostJson: object | string | undefined): HostOptions {
  let json: Record<string, unknown> = {};
  if (typeof hostJson === 'string') json = asRecord(JSON.parse(readFileSync(hostJson, 'utf8')) as unknown);
  else if (hostJson !== undefined) json = asRecord(hostJson);

  const extensions = asRecord(json['extensions']);
  const http = asRecord(extensions['http']);
  const queues = asRecord(extensions['queues']);

  const prefixRaw = http['routePrefix'];
  const routePrefix = typeof prefixRaw === 'string' ? prefixRaw.replace(/^\/+|\/+$/g, '') : 'api';

  const batchSize = intOption(queues, 'batchSize', 16, 1, 32);
  // Storage extension v5 default: half a batch per vCPU.
  const newBatchThreshold = intOption(queues, 'newBatchThreshold', Math.floor(batchSize / 2) * availableParallelism(), 0, 10_000);
  const maxPollingIntervalMs = durationOption(queues, 'maxPollingInterval', 60_000);
  if (maxPollingIntervalMs < 100) throw new HostConfigurationError('host.json extensions.queues.maxPollingInterval must be at least 00:00:00.1.');
  const encoding = queues['messageEncoding'] ?? 'base64';
  if (encoding !== 'base64' && encoding !== 'none') {
    throw new HostConfigurationError('host.json extensions.queues.messageEncoding must be "base64" or "none".');
  }
  return {
    routePrefix,
    queues: {
      batchSize,
      newBatchThreshold,
      visibilityTimeoutMs: durationOption(queues, 'visibilityTimeout', 0),
      maxPollingIntervalMs,
      maxDequeueCount: intOption(queues, 'maxDequeueCount', 5, 1, 10_000),
      messageEncoding: encoding,
    },
  };
}

/**
 * Resolves `%NAME%` app-setting expressions in a binding property, as the host's name resolver does,
 * failing with the host's message when a setting is missing.
 */
export function resolveAppSettings(value: string, env: NodeJS.ProcessEnv = process.env): string {
  return value.replace(/%([^%]+)%/g, (_match, name: string) => {
    const resolved = env[name];
    if (resolved === undefined || resolved === '') throw new HostConfigurationError(`'%${name}%' does not resolve to a value.`);
    return resolved;
  });
}

/**
 * The connection string named by a binding's `connection` property. Like the host it tries the name,
 * then `AzureWebJobs<name>`; with no `connection` it uses `AzureWebJobsStorage`.
 */
export function resolveStorageConnection(connection: unknown, env: NodeJS.ProcessEnv = process.env): string {
  const name = typeof connection === 'string' && connection !== '' ? connection : 'AzureWebJobsStorage';
  const value = env[name] ?? env[`AzureWebJobs${name}`];
  if (value === undefined || value === '') {
    const identityBased = env[`${name}__queueServiceUri`] ?? env[`${name}__accountName`];
    const hint = identityBased !== undefined ? ' (identity-based connections are not supported by the local runtime)' : '';
    throw new HostConfigurationError(`Storage account connection string '${name}' does not exist${hint}. Set the app setting '${name}'.`);
  }
  return value;
}
