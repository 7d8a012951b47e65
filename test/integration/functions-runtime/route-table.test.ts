import { describe, expect, it } from 'vitest';
import { compareRoutes, compileRoute, matchRoute, RouteTemplateError, splitPath } from '../../../local/functions-runtime/route-table.js';

const match = (template: string, path: string): Record<string, string> | undefined => matchRoute(compileRoute(template), splitPath(path) ?? []);

describe('HTTP route templates', () => {
  it('matches literal segments case-insensitively, parameters and a final catch-all', () => {
    expect(match('clusters/{id}', '/clusters/c-1')).toEqual({ id: 'c-1' });
    expect(match('Clusters/{id}', '/CLUSTERS/c-1')).toEqual({ id: 'c-1' });
    expect(match('clusters/{id}', '/clusters')).toBeUndefined();
    expect(match('clusters/{id}', '/clusters/a/b')).toBeUndefined();
    expect(match('files/{*path}', '/files/a/b%20c')).toEqual({ path: 'a/b c' });
    expect(match('files/{*path}', '/files/')).toEqual({});
    expect(match('{*path}', '/v1/anything/at/all')).toEqual({ path: 'v1/anything/at/all' });
  });

  it('orders literal before parameter before catch-all', () => {
    const templates = ['x/{*rest}', 'x/{id}', 'x/fixed', 'x/{id}/{action}', 'x/{id}/approve'];
    const sorted = templates.map(compileRoute).sort(compareRoutes).map((r) => r.template);
    expect(sorted).toEqual(['x/fixed', 'x/{id}/approve', 'x/{id}/{action}', 'x/{id}', 'x/{*rest}']);
  });

  it('rejects malformed templates and the routing features the app does not use', () => {
    expect(() => compileRoute('a/{*rest}/b')).toThrow(RouteTemplateError);
    expect(() => compileRoute('a/{id}/{id}')).toThrow(RouteTemplateError);
    expect(() => compileRoute('a/b{id}')).toThrow(/complex segment/);
    for (const unsupported of ['a/{id:int}', 'a/{id?}', 'a/{n=1}']) {
      expect(() => compileRoute(unsupported)).toThrow(/not supported by the local runtime/);
    }
  });
});
