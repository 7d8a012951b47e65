/**
 * The API version the OpenAPI document declares. Its own module so the health endpoint can show it
 * without loading the document on a cold instance.
 */
export const API_VERSION = '1.0.0';
