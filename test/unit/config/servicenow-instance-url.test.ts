/** `SERVICENOW_INSTANCE_URL`: the one origin ServiceNow credentials are sent to. */
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../../config/settings.js';

const minimal = {
  AzureWebJobsStorage: 'UseDevelopmentStorage=true',
  AUTH_ISSUER: 'https://login.microsoftonline.com/00000000-0000-0000-0000-000000000001/v2.0',
  AUTH_AUDIENCE: 'api://arc-compliance',
};
const basic = { SERVICENOW_AUTH: 'basic', SERVICENOW_USERNAME: 'arc', SERVICENOW_PASSWORD: 'pw' };

function problemsOf(env: Record<string, string>): readonly string[] {
  try {
    loadConfig(env);
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  return [];
}

describe('SERVICENOW_INSTANCE_URL', () => {
  it('is required as soon as ServiceNow credentials are configured', () => {
    expect(problemsOf({ ...minimal, ...basic })).toEqual([expect.stringMatching(/^SERVICENOW_INSTANCE_URL is required when SERVICENOW_AUTH is set/)]);
    expect(problemsOf({ ...minimal, SERVICENOW_AUTH: 'oauth', SERVICENOW_CLIENT_ID: 'c', SERVICENOW_CLIENT_SECRET: 's' })).toEqual([
      expect.stringMatching(/^SERVICENOW_INSTANCE_URL is required/),
    ]);
    expect(loadConfig(minimal).webhooks.serviceNow.instanceUrl).toBeUndefined();
  });

  it('is kept as an origin', () => {
    const config = loadConfig({ ...minimal, ...basic, SERVICENOW_INSTANCE_URL: 'https://Contoso.Service-Now.com:443/' });
    expect(config.webhooks.serviceNow.instanceUrl).toBe('https://contoso.service-now.com');
    expect(loadConfig({ ...minimal, ...basic, SERVICENOW_INSTANCE_URL: 'http://127.0.0.1:41234' }).webhooks.serviceNow.instanceUrl).toBe('http://127.0.0.1:41234');
  });

  it.each([
    ['http://contoso.service-now.com', /must use https/],
    ['ftp://contoso.service-now.com', /must use https/],
    ['contoso.service-now.com', /absolute https URL/],
    ['https://user:pw@contoso.service-now.com', /credentials/],
    ['https://contoso.service-now.com/api/now', /origin/],
    ['https://contoso.service-now.com/?x=1', /origin/],
  ])('refuses %s', (value, problem) => {
    const problems = problemsOf({ ...minimal, ...basic, SERVICENOW_INSTANCE_URL: value });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^SERVICENOW_INSTANCE_URL /);
    expect(problems[0]).toMatch(problem);
  });
});
