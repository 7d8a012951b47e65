/**
 * SSRF policy for outbound webhook and ServiceNow calls.
 *
 * A target is refused when any address its host resolves to is not publicly routable (private,
 * loopback, link-local, CGNAT, unique-local, multicast, reserved, an IPv4 address in such a range
 * carried in any standard IPv6 form — see {@link embeddedIpv4s}) unless the host is allowlisted (`WEBHOOK_ALLOWLIST`: hosts, `host:port` or CIDRs). Cloud
 * metadata endpoints are refused even when allowlisted. Plain `http` is accepted only for allowlisted
 * hosts. The adapter resolves at every delivery and connects to the vetted address.
 */

export type IpVersion = 4 | 6;
export interface IpAddress {
  readonly version: IpVersion;
  /** 32 or 128 bits. */
  readonly value: bigint;
}
export interface Cidr {
  readonly version: IpVersion;
  readonly network: bigint;
  readonly prefix: number;
}

export type AddressClass =
  | 'public'
  | 'metadata'
  | 'private'
  | 'loopback'
  | 'link-local'
  | 'cgnat'
  | 'unique-local'
  | 'unspecified'
  | 'multicast'
  | 'reserved';

function parseIpv4(text: string): bigint | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0n;
  for (const p of parts) {
    if (!/^(0|[1-9]\d{0,2})$/.test(p)) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    value = (value << 8n) | BigInt(n);
  }
  return value;
}

function parseIpv6(text: string): bigint | undefined {
  let s = text;
  const zone = s.indexOf('%');
  if (zone >= 0) s = s.slice(0, zone);
  // A trailing dotted quad (`::ffff:127.0.0.1`) stands for the last two groups.
  if (s.includes('.')) {
    const lastColon = s.lastIndexOf(':');
    const quad = parseIpv4(s.slice(lastColon + 1));
    if (quad === undefined) return undefined;
    s = `${s.slice(0, lastColon + 1)}${(quad >> 16n).toString(16)}:${(quad & 0xffffn).toString(16)}`;
  }
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  const parse = (part: string): number[] | undefined => {
    if (part === '') return [];
    const groups = part.split(':');
    const out: number[] = [];
    for (const g of groups) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  const head = parse(halves[0] ?? '');
  const rest = halves.length === 2 ? parse(halves[1] ?? '') : [];
  if (head === undefined || rest === undefined) return undefined;
  const given = head.length + rest.length;
  let groups: number[];
  if (halves.length === 2) {
    if (given > 7) return undefined;
    groups = [...head, ...new Array<number>(8 - given).fill(0), ...rest];
  } else {
    if (given !== 8) return undefined;
    groups = head;
  }
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(g), 0n);
}

/** Parses a literal IPv4 or IPv6 address (brackets allowed); `undefined` when it is not one. */
export function parseIp(text: string): IpAddress | undefined {
  const t = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
  if (t.includes(':')) {
    const v = parseIpv6(t);
    return v === undefined ? undefined : { version: 6, value: v };
  }
  const v = parseIpv4(t);
  return v === undefined ? undefined : { version: 4, value: v };
}

/** `10.0.0.0/8`, `fd00::/8`, or a bare address (a /32 or /128). */
export function parseCidr(text: string): Cidr | undefined {
  const [addr, prefixText, extra] = text.split('/');
  if (addr === undefined || extra !== undefined) return undefined;
  const ip = parseIp(addr);
  if (ip === undefined) return undefined;
  const bits = ip.version === 4 ? 32 : 128;
  const prefix = prefixText === undefined ? bits : /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : NaN;
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > bits) return undefined;
  const mask = prefix === 0 ? 0n : ((1n << BigInt(prefix)) - 1n) << BigInt(bits - prefix);
  return { version: ip.version, network: ip.value & mask, prefix };
}

export function cidrContains(cidr: Cidr, ip: IpAddress): boolean {
  if (cidr.version !== ip.version) return false;
  const bits = ip.version === 4 ? 32 : 128;
  const shift = BigInt(bits - cidr.prefix);
  return cidr.prefix === 0 || ip.value >> shift === cidr.network >> shift;
}

const v4 = (text: string): Cidr => parseCidr(text) as Cidr;

const METADATA: readonly Cidr[] = [
  v4('169.254.169.254/32'), // Azure IMDS, AWS, GCP
  v4('168.63.129.16/32'), // Azure WireServer
  v4('100.100.100.200/32'), // Alibaba
  v4('fd00:ec2::254/128'), // AWS IPv6 IMDS
];

const V4_RANGES: readonly [Cidr, AddressClass][] = [
  [v4('0.0.0.0/8'), 'unspecified'],
  [v4('10.0.0.0/8'), 'private'],
  [v4('100.64.0.0/10'), 'cgnat'],
  [v4('127.0.0.0/8'), 'loopback'],
  [v4('169.254.0.0/16'), 'link-local'],
  [v4('172.16.0.0/12'), 'private'],
  [v4('192.0.0.0/24'), 'reserved'],
  [v4('192.0.2.0/24'), 'reserved'],
  [v4('192.88.99.0/24'), 'reserved'],
  [v4('192.168.0.0/16'), 'private'],
  [v4('198.18.0.0/15'), 'reserved'],
  [v4('198.51.100.0/24'), 'reserved'],
  [v4('203.0.113.0/24'), 'reserved'],
  [v4('224.0.0.0/4'), 'multicast'],
  [v4('240.0.0.0/4'), 'reserved'],
];

/**
 * IPv6 prefixes refused by their own class (IANA IPv6 Special-Purpose Address Registry, RFC 6890 and
 * later). Anything outside 2000::/3 that is not listed is refused as `reserved`: only that block holds
 * global unicast space. Forms that carry an IPv4 address are judged by that address first.
 */
const V6_RANGES: readonly [Cidr, AddressClass][] = [
  [v4('::/128'), 'unspecified'],
  [v4('::1/128'), 'loopback'],
  [v4('64:ff9b:1::/48'), 'reserved'], // local-use IPv4/IPv6 translation (RFC 8215): a private translator
  [v4('100::/64'), 'reserved'], // discard-only (RFC 6666)
  [v4('2001::/23'), 'reserved'], // IETF protocol assignments: Teredo, benchmarking, ORCHID, AMT, …
  [v4('2001:db8::/32'), 'reserved'], // documentation
  [v4('3ffe::/16'), 'reserved'], // the former 6bone, returned (early Teredo used 3ffe:831f::/32)
  [v4('3fff::/20'), 'reserved'], // documentation (RFC 9637)
  [v4('5f00::/16'), 'reserved'], // SRv6 segment identifiers (RFC 9602)
  [v4('fc00::/7'), 'unique-local'],
  [v4('fe80::/10'), 'link-local'],
  [v4('fec0::/10'), 'private'], // site-local, deprecated
  [v4('ff00::/8'), 'multicast'],
];
const GLOBAL_UNICAST = v4('2000::/3');

/**
 * A standard way an IPv6 address carries an IPv4 address:
 * - `ipv4-mapped` `::ffff:a.b.c.d` (RFC 4291), `ipv4-compatible` `::a.b.c.d` (RFC 4291, deprecated),
 *   `ipv4-translated` `::ffff:0:a.b.c.d` (RFC 2765 SIIT);
 * - `nat64` the well-known prefix `64:ff9b::/96` (RFC 6052); `nat64-local` the local-use prefix
 *   `64:ff9b:1::/48` (RFC 8215), read with each RFC 6052 layout a translator may use inside it
 *   (prefix lengths 48, 56, 64 and 96, the address split around the reserved "u" octet);
 * - `6to4` `2002:AABB:CCDD::/48` (RFC 3056);
 * - `teredo-server` and `teredo-client` in `2001::/32` (RFC 4380; also the pre-standard
 *   `3ffe:831f::/32`): the server in bits 32–63, the client as the bitwise NOT of the last 32 bits;
 * - `isatap` the interface identifier `0000:5efe:a.b.c.d` (RFC 5214; the u and g bits may be set)
 *   under any /64 prefix.
 */
export type Ipv4EmbeddingForm = 'ipv4-mapped' | 'ipv4-compatible' | 'ipv4-translated' | 'nat64' | 'nat64-local' | '6to4' | 'teredo-server' | 'teredo-client' | 'isatap';

/** An IPv4 address an IPv6 address carries, and how. */
export interface EmbeddedIpv4 {
  readonly form: Ipv4EmbeddingForm;
  readonly ipv4: IpAddress;
}

/** Forms where the IPv6 address stands for the IPv4 address itself: reaching one reaches the other. */
const STANDS_FOR_IPV4: ReadonlySet<Ipv4EmbeddingForm> = new Set(['ipv4-mapped', 'ipv4-compatible', 'ipv4-translated', 'nat64', '6to4']);

const MASK32 = 0xffffffffn;

/** RFC 6052 §2.2: the IPv4 address behind a prefix of `length` bits (bits 64–71, the "u" octet, skipped). */
function rfc6052Ipv4(value: bigint, length: 32 | 40 | 48 | 56 | 64 | 96): bigint {
  if (length === 96) return value & MASK32;
  if (length === 64) return (value >> 24n) & MASK32;
  const before = BigInt(64 - length); // IPv4 bits before the u octet, the rest follow it
  const after = 32n - before;
  const high = (value >> 64n) & ((1n << before) - 1n);
  const low = (value >> (56n - after)) & ((1n << after) - 1n);
  return (high << after) | low;
}

/**
 * Every IPv4 address `ip` carries in a standard form (see {@link Ipv4EmbeddingForm}); empty for an
 * IPv4 address or an IPv6 address in none of the forms. Addresses inside a network-specific NAT64
 * prefix, 6rd or MAP cannot be recognised: those prefixes are the operator's choice.
 */
export function embeddedIpv4s(ip: IpAddress): EmbeddedIpv4[] {
  if (ip.version !== 6) return [];
  const v = ip.value;
  const out: EmbeddedIpv4[] = [];
  const add = (form: Ipv4EmbeddingForm, value: bigint): void => void out.push({ form, ipv4: { version: 4, value: value & MASK32 } });
  const top96 = v >> 32n;
  if (top96 === 0xffffn) add('ipv4-mapped', v);
  else if (top96 === 0xffff0000n) add('ipv4-translated', v);
  else if (top96 === 0n && v > 1n) add('ipv4-compatible', v);
  else if (top96 === 0x0064ff9b0000000000000000n) add('nat64', v);
  if (v >> 80n === 0x0064ff9b0001n) for (const length of [48, 56, 64, 96] as const) add('nat64-local', rfc6052Ipv4(v, length));
  if (v >> 112n === 0x2002n) add('6to4', v >> 80n);
  if (v >> 96n === 0x20010000n || v >> 96n === 0x3ffe831fn) {
    add('teredo-server', v >> 64n);
    add('teredo-client', ~v);
  }
  if (((v >> 32n) & 0xfcffffffn) === 0x5efen) add('isatap', v);
  return out;
}

/**
 * The class of an address. An IPv6 address carrying an IPv4 address in a standard form is refused as
 * that IPv4 address would be (metadata first); when every carried address is public it is public if
 * the form stands for the IPv4 address (mapped, compatible, translated, NAT64 well-known, 6to4), and
 * otherwise judged by its IPv6 prefix (Teredo and local-use NAT64 are never globally reachable). IPv6
 * outside 2000::/3, the only global unicast block, is `reserved`.
 */
export function classifyAddress(ip: IpAddress): AddressClass {
  if (METADATA.some((c) => cidrContains(c, ip))) return 'metadata';
  if (ip.version === 4) {
    for (const [cidr, cls] of V4_RANGES) if (cidrContains(cidr, ip)) return cls;
    return ip.value === 0xffffffffn ? 'reserved' : 'public';
  }
  if (ip.value === 0n) return 'unspecified';
  if (ip.value === 1n) return 'loopback';
  const carried = embeddedIpv4s(ip);
  const inner = carried.map((c) => classifyAddress(c.ipv4));
  if (inner.includes('metadata')) return 'metadata';
  // Which layout a local-use translator uses is its operator's choice, so only a metadata reading is
  // certain enough to name; the prefix itself refuses the address anyway.
  const refused = inner.find((c, i) => c !== 'public' && carried[i]?.form !== 'nat64-local');
  if (refused !== undefined) return refused;
  if (carried.some((c) => STANDS_FOR_IPV4.has(c.form))) return 'public';
  for (const [cidr, cls] of V6_RANGES) if (cidrContains(cidr, ip)) return cls;
  return cidrContains(GLOBAL_UNICAST, ip) ? 'public' : 'reserved';
}

export interface Allowlist {
  readonly hosts: ReadonlySet<string>;
  readonly hostPorts: ReadonlySet<string>;
  readonly cidrs: readonly Cidr[];
}

function normalizeHost(host: string): string {
  const h = host.toLowerCase().replace(/\.$/, '');
  return h.startsWith('[') && h.endsWith(']') ? h.slice(1, -1) : h;
}

/**
 * Parses `WEBHOOK_ALLOWLIST` entries: `host`, `host:port`, `[v6]:port`, an address or a CIDR.
 * Returns the problems instead of throwing so configuration errors can be listed together.
 */
export function parseAllowlist(entries: readonly string[]): { allowlist: Allowlist; problems: string[] } {
  const hosts = new Set<string>();
  const hostPorts = new Set<string>();
  const cidrs: Cidr[] = [];
  const problems: string[] = [];
  for (const raw of entries) {
    const entry = raw.trim();
    if (entry === '') continue;
    const cidr = parseCidr(entry.replace(/^\[(.*)\]$/, '$1'));
    if (cidr !== undefined) {
      cidrs.push(cidr);
      continue;
    }
    const hp = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(entry);
    if (hp !== null && hp[1] !== undefined && hp[2] !== undefined && Number(hp[2]) <= 65535) {
      hostPorts.add(`${normalizeHost(hp[1])}:${Number(hp[2])}`);
      continue;
    }
    if (/^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*\.?$/.test(entry)) {
      hosts.add(normalizeHost(entry));
      continue;
    }
    problems.push(`WEBHOOK_ALLOWLIST entry "${entry}" is not a host, host:port or CIDR`);
  }
  return { allowlist: { hosts, hostPorts, cidrs }, problems };
}

export const EMPTY_ALLOWLIST: Allowlist = Object.freeze({ hosts: new Set<string>(), hostPorts: new Set<string>(), cidrs: [] });

/**
 * C0 and C1 controls, DEL, any Unicode whitespace, and the backslash. The WHATWG URL parser drops tabs
 * and line breaks and reads `\` as `/`, so `http://a\@b/` connects to `a` while an RFC 3986 reader
 * (a log pipeline, a SIEM, a ServiceNow flow) sees host `b`; refusing them keeps one reading.
 */
// eslint-disable-next-line no-control-regex -- matching control characters is the point: they are what gets refused.
const UNSAFE_URL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f\s\\]/u;

/** True when a URL's text holds a character {@link vetUrl} refuses (control, whitespace, backslash). */
export function hasUnsafeUrlCharacters(text: string): boolean {
  return UNSAFE_URL_CHARACTERS.test(text);
}

export interface VettedTarget {
  readonly url: URL;
  /** Host without brackets, lower-case. */
  readonly host: string;
  readonly port: number;
  /** The host (or host:port, or its literal address) is on the allowlist. */
  readonly allowlisted: boolean;
  /** Set when the host is a literal address (no DNS). */
  readonly literal: IpAddress | undefined;
}

export type Vetting<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly reason: string };

function hostAllowlisted(host: string, port: number, literal: IpAddress | undefined, allowlist: Allowlist): boolean {
  if (allowlist.hosts.has(host) || allowlist.hostPorts.has(`${host}:${port}`)) return true;
  return literal !== undefined && allowlist.cidrs.some((c) => cidrContains(c, literal));
}

/**
 * Checks a target URL before resolution: no control characters, whitespace or backslashes, absolute
 * `https` (or `http` for allowlisted hosts), no credentials in the URL, and a literal address must
 * itself be acceptable.
 */
export function vetUrl(text: string, allowlist: Allowlist): Vetting<VettedTarget> {
  // Also at delivery: a URL stored before creation refused these is not sent to either.
  if (hasUnsafeUrlCharacters(text)) return { ok: false, reason: 'the URL contains control characters, whitespace or backslashes' };
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return { ok: false, reason: 'not an absolute URL' };
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return { ok: false, reason: `scheme ${url.protocol} is not allowed` };
  if (url.username !== '' || url.password !== '') return { ok: false, reason: 'credentials in the URL are not allowed' };
  const host = normalizeHost(url.hostname);
  if (host === '') return { ok: false, reason: 'the URL has no host' };
  const port = url.port !== '' ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
  const literal = parseIp(host);
  const allowlisted = hostAllowlisted(host, port, literal, allowlist);
  if (url.protocol === 'http:' && !allowlisted) return { ok: false, reason: 'only https is allowed for hosts that are not allowlisted' };
  const target: VettedTarget = { url, host, port, allowlisted, literal };
  if (literal !== undefined) {
    const check = vetAddress(literal, target, allowlist);
    if (!check.ok) return check;
  }
  return { ok: true, value: target };
}

/**
 * Checks one resolved address of a vetted target. Metadata addresses are always refused; other
 * non-public addresses only pass when the host is allowlisted or the address is in an allowlisted CIDR.
 */
export function vetAddress(address: IpAddress | string, target: Pick<VettedTarget, 'allowlisted'>, allowlist: Allowlist): Vetting<IpAddress> {
  const ip = typeof address === 'string' ? parseIp(address) : address;
  if (ip === undefined) return { ok: false, reason: `"${String(address)}" is not an IP address` };
  const cls = classifyAddress(ip);
  if (cls === 'metadata') return { ok: false, reason: `cloud metadata addresses are never allowed${carrying(ip, cls)}` };
  if (cls === 'public') return { ok: true, value: ip };
  if (target.allowlisted || allowlist.cidrs.some((c) => cidrContains(c, ip))) return { ok: true, value: ip };
  return { ok: false, reason: `the host resolves to a ${cls} address${carrying(ip, cls)}` };
}

/** Names the IPv4 address an IPv6 address was refused for, so the reason is not a puzzle. */
function carrying(ip: IpAddress, cls: AddressClass): string {
  const found = embeddedIpv4s(ip).find((e) => classifyAddress(e.ipv4) === cls);
  return found === undefined ? '' : ` (${formatIp(ip)} carries ${formatIp(found.ipv4)}, ${found.form})`;
}

/** Text form of an address (IPv4 dotted, IPv6 uncompressed lower-case hex groups). */
export function formatIp(ip: IpAddress): string {
  if (ip.version === 4) return [24n, 16n, 8n, 0n].map((s) => String((ip.value >> s) & 0xffn)).join('.');
  const groups: string[] = [];
  for (let i = 7; i >= 0; i -= 1) groups.push(((ip.value >> BigInt(i * 16)) & 0xffffn).toString(16));
  return groups.join(':');
}
