/**
 * An independent implementation of the Standard Webhooks signature scheme for tests, written from the
 * specification (WebCrypto, not node:crypto HMAC and not the library under test):
 * signature = "v1," + base64(HMAC-SHA256(key, `${id}.${timestamp}.${body}`)), key = base64 after "whsec_".
 */
const encoder = new TextEncoder();

async function hmacBase64(secret: string, content: string): Promise<string> {
  if (!secret.startsWith('whsec_')) throw new Error('not a whsec_ secret');
  const key = await globalThis.crypto.subtle.importKey('raw', Buffer.from(secret.slice('whsec_'.length), 'base64'), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  const mac = await globalThis.crypto.subtle.sign('HMAC', key, encoder.encode(content));
  return Buffer.from(mac).toString('base64');
}

export async function referenceSign(secret: string, id: string, timestamp: number, body: string): Promise<string> {
  return `v1,${await hmacBase64(secret, `${id}.${timestamp}.${body}`)}`;
}

/** True when one of the space-separated `v1` signatures matches the secret and the timestamp is within 5 minutes. */
export async function referenceVerify(secret: string, headers: Record<string, string | undefined>, body: string, nowSeconds: number): Promise<boolean> {
  const id = headers['webhook-id'];
  const ts = headers['webhook-timestamp'];
  const sigs = headers['webhook-signature'];
  if (id === undefined || ts === undefined || sigs === undefined) return false;
  if (Math.abs(nowSeconds - Number(ts)) > 300) return false;
  const expected = await referenceSign(secret, id, Number(ts), body);
  return sigs.split(' ').includes(expected);
}
