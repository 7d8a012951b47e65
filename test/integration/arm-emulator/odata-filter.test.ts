import { describe, expect, it } from 'vitest';
import { ODataFilterError, parseODataFilter } from '../../../local/arm-emulator/index.js';

const rec = { resourceType: '/Microsoft.Kubernetes/connectedClusters', complianceState: 'NonCompliant', policyDefinitionName: 'ABC', policySetDefinitionName: '', isCompliant: false };

describe('emulator $filter subset', () => {
  it.each([
    ["resourceType eq 'microsoft.kubernetes/connectedclusters'", true],
    ["ComplianceState eq 'noncompliant' and policyDefinitionName eq 'abc'", true],
    ["complianceState eq 'Compliant' or (policyDefinitionName ne 'x' and not (isCompliant eq true))", true],
    ["complianceState eq 'Compliant' or policyDefinitionName eq 'x'", false],
    ["startswith(policyDefinitionName, 'ab')", true],
    ["policySetDefinitionName eq null", true],
    ["policyDefinitionName eq 'it''s'", false],
  ])('%s → %s', (filter, expected) => {
    expect(parseODataFilter(filter)(rec)).toBe(expected);
  });

  it.each(["complianceState gt 'x'", "complianceState eq 'x' and", "(complianceState eq 'x'", "foo('x')"])('rejects %s', (filter) => {
    expect(() => parseODataFilter(filter)(rec)).toThrow(ODataFilterError);
  });
});
