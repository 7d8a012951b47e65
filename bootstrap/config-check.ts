/**
 * The configuration checks that run when the app starts: the settings themselves (`loadConfig`, which
 * names every problem) and the webhook settings the wiring refuses, checked on their own so that a bad
 * allowlist or a half-configured ServiceNow fails the app at start-up even though the webhook stack is
 * built only when first used. The composition root runs the webhook check again whenever it builds a
 * container (tests and tools build containers from hand-made configurations).
 */
import { loadConfig, type AppConfig } from '../config/settings.js';
import { parseAllowlist } from '../domain/webhook-ssrf.js';

export function webhookConfigProblems(config: Pick<AppConfig, 'webhookAllowlist' | 'webhooks'>): string[] {
  const { problems } = parseAllowlist(config.webhookAllowlist);
  const sn = config.webhooks.serviceNow;
  return [...problems, ...(sn.auth !== undefined && sn.instanceUrl === undefined ? ['SERVICENOW_INSTANCE_URL is required when SERVICENOW_AUTH is set'] : [])];
}

/** Reads the environment's configuration and throws, naming every problem, when the app could not run with it. */
export function checkConfiguration(): void {
  const problems = webhookConfigProblems(loadConfig());
  if (problems.length > 0) throw new Error(problems.join('; '));
}
