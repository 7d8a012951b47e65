import { describe, expect, it } from 'vitest';
import { compareRoutes, compileRoute, matchRoute, RouteTemplateError, splitPath } from '../../../local/functions-runtime/route-table.js';

const match = (template: string, path: string): Record<string, string> | undefined => matchRoute(compileRoute(template), splitPath(path) ?? []);

describe('HTTP route templates', () => {
  it('matches parameters, optional parameters, defaults and catch-alls', () => {
    expect(match('clusters/{id}', '/clusters/c-1')).toEqual({ id: 'c-1' });
    expect(match('clusters/{id}', '/clusters')).toBeUndefined();
    expect(match('clusters/{id}', '/clusters/a/b')).toBeUndefined();
    expect(match('clusters/{id?}', '/clusters')).toEqual({});
    expect(match('page/{n=1}', '/page')).toEqual({ n: '1' });
    expect(match('files/{*path}', '/files/a/b%20c')).toEqual({ path: 'a/b c' });
    expect(match('files/{*path}', '/files/')).toEqual({});
  });

  it('applies constraints', () => {
    expect(match('items/{id:int}', '/items/12')).toEqual({ id: '12' });
    expect(match('items/{id:int}', '/items/x')).toBeUndefined();
    expect(match('items/{id:guid}', '/items/0f8fad5b-d9cb-469f-a165-70867728950e')).toBeDefined();
    expect(match('items/{n:range(1,3)}', '/items/4')).toBeUndefined();
    expect(match('items/{code:regex(^[a-z]+$)}', '/items/ab')).toEqual({ code: 'ab' });
    expect(match('items/{code:regex(^[a-z]+$)}', '/items/a1')).toBeUndefined();
  });

  it('orders literal before constrained before plain before catch-all', () => {
    const templates = ['x/{*rest}', 'x/{id}', 'x/{id:int}', 'x/fixed'];
    const sorted = templates.map(compileRoute).sort(compareRoutes).map((r) => r.template);
    expect(sorted).toEqual(['x/fixed', 'x/{id:int}', 'x/{id}', 'x/{*rest}']);
  });

  it('rejects malformed templates', () => {
    expect(() => compileRoute('a/{*rest}/b')).toThrow(RouteTemplateError);
    expect(() => compileRoute('a/{id?}/b')).toThrow(RouteTemplateError);
    expect(() => compileRoute('a/{id}/{id}')).toThrow(RouteTemplateError);
    expect(() => compileRoute('a/{id:nope}')).toThrow(/unsupported constraint/);
  });
});
