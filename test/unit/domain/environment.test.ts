import { describe, expect, it } from 'vitest';
import { environmentOf, environmentTagValue } from '../../../domain/environment.js';

describe('environment tag', () => {
  it('reads dev, test and prod with tag name and value compared case-insensitively', () => {
    expect(environmentOf({ environment: 'dev' })).toBe('dev');
    expect(environmentOf({ Environment: 'TEST' })).toBe('test');
    expect(environmentOf({ ENVIRONMENT: 'Prod' })).toBe('prod');
  });
  it('is undefined without the tag or with another value', () => {
    expect(environmentOf({})).toBeUndefined();
    expect(environmentOf({ env: 'prod' })).toBeUndefined();
    expect(environmentOf({ environment: 'production' })).toBeUndefined();
    expect(environmentOf({ environment: ' prod' })).toBeUndefined();
  });
  it('returns the raw value for evidence', () => {
    expect(environmentTagValue({ EnVironment: 'Staging' })).toBe('Staging');
    expect(environmentTagValue({ other: 'x' })).toBeUndefined();
  });
  it('is deterministic when keys differ only by case', () => {
    expect(environmentOf({ environment: 'dev', Environment: 'prod' })).toBe('prod');
    expect(environmentOf({ Environment: 'prod', environment: 'dev' })).toBe('prod');
  });
});
