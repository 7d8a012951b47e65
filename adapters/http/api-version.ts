/** The API version the document declares (health shows it to readers of compliance data), without loading the document. */
export { API_VERSION } from '../../openapi/api-version.js';
