import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ConfigError, SETTINGS, loadConfig } from '../../../config/settings.js';

const minimal = {
  AzureWebJobsStorage: 'UseDevelopmentStorage=true',
  AUTH_ISSUER: 'https://login.microsoftonline.com/00000000-0000-0000-0000-000000000001/v2.0',
  AUTH_AUDIENCE: 'api://arc-compliance',
};

function problemsOf(env: Record<string, string>): readonly string[] {
  try {
    loadConfig(env);
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  return [];
}

describe('loadConfig', () => {
  it('applies documented defaults and freezes the result', () => {
    const config = loadConfig(minimal);
    expect(config.armEndpoint).toBe('https://management.azure.com');
    expect(config.evaluationSchedule).toBe('0 0 2 * * *');
    expect(config.historyRetentionDays).toBe(90);
    expect(config.subscriptionIds).toBeUndefined();
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.auth)).toBe(true);
    expect(() => {
      (config as { armEndpoint: string }).armEndpoint = 'x';
    }).toThrow(TypeError);
  });

  it('names every missing or invalid setting at once', () => {
    const problems = problemsOf({
      HISTORY_RETENTION_DAYS: 'ninety',
      AZURE_SUBSCRIPTION_IDS: 'not-a-guid, 1bfbb5d0-917e-4346-9026-1d3b344417f5',
      AZURE_RESOURCE_MANAGER_ENDPOINT: 'http://insecure.example',
      EVALUATION_SCHEDULE: '0 2 * * *',
    });
    const text = problems.join('\n');
    for (const name of ['AzureWebJobsStorage', 'AUTH_ISSUER', 'AUTH_AUDIENCE', 'HISTORY_RETENTION_DAYS', 'AZURE_SUBSCRIPTION_IDS', 'AZURE_RESOURCE_MANAGER_ENDPOINT', 'EVALUATION_SCHEDULE']) {
      expect(text).toContain(name);
    }
    expect(problems).toHaveLength(7);
  });

  it('accepts identity-based storage instead of a connection string', () => {
    const { AzureWebJobsStorage: _omit, ...rest } = minimal;
    const config = loadConfig({ ...rest, AzureWebJobsStorage__accountName: 'starccompliance', AzureWebJobsStorage__credential: 'managedidentity' });
    expect(config.storage.connectionString).toBeUndefined();
    expect(config.storage.accountName).toBe('starccompliance');
  });

  it('names an unresolved Key Vault reference instead of using its literal text', () => {
    const problems = problemsOf({ ...minimal, SERVICENOW_CHANGE_WEBHOOK_SECRET: '@Microsoft.KeyVault(SecretUri=https://kv.vault.azure.net/secrets/sn-change/)' });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^SERVICENOW_CHANGE_WEBHOOK_SECRET is an unresolved Key Vault reference/);
  });

  it('normalises the subscription list', () => {
    const config = loadConfig({ ...minimal, AZURE_SUBSCRIPTION_IDS: ' 1BFBB5D0-917E-4346-9026-1D3B344417F5 ,, ' });
    expect(config.subscriptionIds).toEqual(['1bfbb5d0-917e-4346-9026-1d3b344417f5']);
  });

  it('keeps webhook deliveries 30 days unless told otherwise, and refuses a non-positive window', () => {
    expect(loadConfig(minimal).webhooks.deliveryRetentionDays).toBe(30);
    expect(loadConfig({ ...minimal, WEBHOOK_DELIVERY_RETENTION_DAYS: '7' }).webhooks.deliveryRetentionDays).toBe(7);
    expect(problemsOf({ ...minimal, WEBHOOK_DELIVERY_RETENTION_DAYS: '0' })).toEqual([
      'WEBHOOK_DELIVERY_RETENTION_DAYS must be an integer between 1 and 3650 (got "0")',
    ]);
  });
});

describe('settings documentation stays true', () => {
  const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
  const example = JSON.parse(readFileSync(new URL('../../../local.settings.example.json', import.meta.url), 'utf8')) as { Values: Record<string, string> };
  it.each(SETTINGS.map((s) => s.name))('README documents %s', (name) => {
    expect(readme).toContain(`\`${name}\``);
  });
  it.each(SETTINGS.map((s) => s.name))('local.settings.example.json lists %s', (name) => {
    expect(Object.keys(example.Values)).toContain(name);
  });
});
