/**
 * The interactive API reference: Swagger UI served from the `swagger-ui-dist` npm package (no CDN),
 * pointed at `/api/openapi.json`. A strict CSP allows only our own scripts; Swagger UI needs inline
 * styles and data: images.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { NotFoundError } from '../../domain/errors.js';
import { document } from '../../openapi/document.js';

/** The OpenAPI document as served at `/api/openapi.json`: serialized once, byte-identical on every request. */
export const OPENAPI_JSON = JSON.stringify(document);

export const DOCS_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; " +
  "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/** The allow-list. A `Map`, not an object literal: a name like `constructor` must not find `Object.prototype` members. */
const CONTENT_TYPES: ReadonlyMap<string, string> = new Map([
  ['swagger-ui.css', 'text/css; charset=utf-8'],
  ['index.css', 'text/css; charset=utf-8'],
  ['swagger-ui-bundle.js', 'text/javascript; charset=utf-8'],
  ['favicon-32x32.png', 'image/png'],
  ['favicon-16x16.png', 'image/png'],
]);

const INITIALIZER = `window.addEventListener('load', function () {
  window.ui = SwaggerUIBundle({
    url: '/api/openapi.json',
    dom_id: '#swagger-ui',
    deepLinking: true,
    validatorUrl: null,
    persistAuthorization: false,
    presets: [SwaggerUIBundle.presets.apis],
    layout: 'BaseLayout'
  });
});
`;

export const DOCS_HTML = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>arc-compliance API reference</title>
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <link rel="stylesheet" href="/api/docs/swagger-ui.css">
  <link rel="stylesheet" href="/api/docs/index.css">
  <link rel="icon" type="image/png" href="/api/docs/favicon-32x32.png" sizes="32x32">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/api/docs/swagger-ui-bundle.js"></script>
  <script src="/api/docs/initializer.js"></script>
</body>
</html>
`;

export interface DocsAsset {
  readonly contentType: string;
  readonly body: string | Uint8Array;
}

let distDir: string | undefined;
const cache = new Map<string, Promise<DocsAsset>>();

/** An asset by file name, or undefined for anything not on the allow-list (no path traversal possible). */
export function getDocsAsset(name: string): Promise<DocsAsset> | undefined {
  if (name === 'initializer.js') return Promise.resolve({ contentType: 'text/javascript; charset=utf-8', body: INITIALIZER });
  const contentType = CONTENT_TYPES.get(name);
  if (contentType === undefined) return undefined;
  let cached = cache.get(name);
  if (cached === undefined) {
    distDir ??= dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));
    cached = readFile(join(distDir, name)).then((body) => ({ contentType, body: new Uint8Array(body) }));
    cached.catch(() => cache.delete(name));
    cache.set(name, cached);
  }
  return cached;
}

/** {@link getDocsAsset}, or a 404 in the API's error shape for a name not on the allow-list. */
export function requireDocsAsset(name: string): Promise<DocsAsset> {
  const asset = getDocsAsset(name);
  if (asset === undefined) throw new NotFoundError(`No asset ${name}.`, 'asset');
  return asset;
}
