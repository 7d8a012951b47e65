/**
 * Entra ID app roles of the API registration (the `roles` claim). `infra/app-roles.json` declares the
 * same names for the app registration; a contract test keeps the two in step once it exists.
 */
export const APP_ROLES = Object.freeze({
  complianceRead: 'Compliance.Read',
  complianceEvaluate: 'Compliance.Evaluate',
  complianceExempt: 'Compliance.Exempt',
  remediationRun: 'Remediation.Run',
  enforcementManage: 'Enforcement.Manage',
  enforcementApprove: 'Enforcement.Approve',
  webhooksManage: 'Webhooks.Manage',
  auditRead: 'Audit.Read',
} as const);

export type AppRole = (typeof APP_ROLES)[keyof typeof APP_ROLES];

export const ALL_APP_ROLES: readonly AppRole[] = Object.freeze(Object.values(APP_ROLES));
