import { generate } from 'selfsigned';

export interface TlsMaterial {
  readonly key: string;
  readonly cert: string;
}

/**
 * A fresh self-signed certificate for `localhost` / `127.0.0.1`, generated at start so no key
 * material ever lives in the repository. It is its own trust anchor (`cA: true`): clients trust it
 * through `tlsOptions.ca` or the `NODE_EXTRA_CA_CERTS` bundle.
 */
export async function createLocalhostCertificate(): Promise<TlsMaterial> {
  const now = Date.now();
  const result = await generate([{ name: 'commonName', value: 'arc-compliance ARM emulator' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notBeforeDate: new Date(now - 60_000),
    notAfterDate: new Date(now + 7 * 24 * 3600_000),
    extensions: [
      { name: 'basicConstraints', cA: true },
      { name: 'keyUsage', digitalSignature: true, keyCertSign: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: [{ type: 2, value: 'localhost' }, { type: 7, ip: '127.0.0.1' }] },
    ],
  });
  return { key: result.private, cert: result.cert };
}
