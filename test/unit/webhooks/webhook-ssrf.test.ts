import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { classifyAddress, embeddedIpv4s, parseAllowlist, parseIp, vetAddress, vetUrl, formatIp, type AddressClass, type IpAddress } from '../../../domain/webhook-ssrf.js';

const cls = (a: string) => classifyAddress(parseIp(a)!);
const allow = (...entries: string[]) => parseAllowlist(entries).allowlist;

describe('address classification', () => {
  it.each([
    ['8.8.8.8', 'public'],
    ['10.1.2.3', 'private'],
    ['172.31.255.255', 'private'],
    ['172.32.0.1', 'public'],
    ['192.168.1.1', 'private'],
    ['127.0.0.1', 'loopback'],
    ['127.255.0.9', 'loopback'],
    ['0.0.0.0', 'unspecified'],
    ['169.254.1.1', 'link-local'],
    ['169.254.169.254', 'metadata'],
    ['168.63.129.16', 'metadata'],
    ['100.64.0.1', 'cgnat'],
    ['100.127.255.255', 'cgnat'],
    ['224.0.0.1', 'multicast'],
    ['255.255.255.255', 'reserved'],
    ['::1', 'loopback'],
    ['::', 'unspecified'],
    ['fe80::1', 'link-local'],
    ['fd12:3456::1', 'unique-local'],
    ['fc00::1', 'unique-local'],
    ['ff02::1', 'multicast'],
    ['2606:4700::1111', 'public'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['::ffff:169.254.169.254', 'metadata'],
    ['::ffff:10.0.0.1', 'private'],
    ['::ffff:8.8.8.8', 'public'],
    ['64:ff9b::a00:1', 'private'],
    ['2002:7f00:1::', 'loopback'],
    ['fd00:ec2::254', 'metadata'],
  ])('%s is %s', (addr, expected) => {
    expect(cls(addr)).toBe(expected);
  });

  it('parses and formats addresses', () => {
    expect(parseIp('1.2.3')).toBeUndefined();
    expect(parseIp('1.2.3.256')).toBeUndefined();
    expect(parseIp('01.2.3.4')).toBeUndefined();
    expect(parseIp('1::2::3')).toBeUndefined();
    expect(formatIp(parseIp('[::ffff:1.2.3.4]')!)).toBe('0:0:0:0:0:ffff:102:304');
    expect(formatIp(parseIp('10.0.0.1')!)).toBe('10.0.0.1');
  });
});

describe('allowlist and URL vetting', () => {
  it('refuses private targets unless allowlisted, metadata always', () => {
    expect(vetUrl('https://10.0.0.5/hook', allow()).ok).toBe(false);
    expect(vetUrl('https://10.0.0.5/hook', allow('10.0.0.0/24')).ok).toBe(true);
    expect(vetUrl('https://169.254.169.254/latest', allow('169.254.169.254', '169.254.0.0/16')).ok).toBe(false);
    expect(vetUrl('https://[::ffff:127.0.0.1]/', allow()).ok).toBe(false);
    expect(vetUrl('https://0x7f.1/', allow()).ok).toBe(false); // WHATWG normalises to 127.0.0.1
    expect(vetUrl('https://2130706433/', allow()).ok).toBe(false);
  });

  it('requires https unless the host is allowlisted', () => {
    expect(vetUrl('http://example.com/h', allow())).toMatchObject({ ok: false, reason: expect.stringMatching(/https/) });
    expect(vetUrl('http://example.com/h', allow('example.com')).ok).toBe(true);
    expect(vetUrl('http://localhost:8080/h', allow('localhost:8080')).ok).toBe(true);
    expect(vetUrl('http://localhost:8081/h', allow('localhost:8080')).ok).toBe(false);
    expect(vetUrl('ftp://example.com/', allow('example.com')).ok).toBe(false);
    expect(vetUrl('https://user:pw@example.com/', allow()).ok).toBe(false);
    expect(vetUrl('not a url', allow()).ok).toBe(false);
  });

  it('vets resolved addresses against the target', () => {
    const t = vetUrl('https://hooks.example.com/x', allow());
    if (!t.ok) throw new Error(t.reason);
    expect(vetAddress('93.184.216.34', t.value, allow()).ok).toBe(true);
    expect(vetAddress('127.0.0.1', t.value, allow())).toMatchObject({ ok: false, reason: expect.stringMatching(/loopback/) });
    expect(vetAddress('127.0.0.1', t.value, allow('127.0.0.0/8')).ok).toBe(true);
    const listed = vetUrl('https://stand-in.local/x', allow('stand-in.local'));
    if (!listed.ok) throw new Error(listed.reason);
    expect(vetAddress('127.0.0.1', listed.value, allow('stand-in.local')).ok).toBe(true);
    expect(vetAddress('169.254.169.254', listed.value, allow('stand-in.local')).ok).toBe(false);
  });

  it('reports invalid allowlist entries', () => {
    expect(parseAllowlist(['ok.example', 'bad entry', '10.0.0.0/33']).problems).toHaveLength(2);
    const { allowlist } = parseAllowlist(['Example.COM.', '[::1]:8443', '192.168.0.0/16']);
    expect([...allowlist.hosts]).toEqual(['example.com']);
    expect([...allowlist.hostPorts]).toEqual(['::1:8443']);
    expect(allowlist.cidrs).toHaveLength(1);
  });
});

// ---------------------------------------------------------------------------------------------
// IPv6 forms that carry an IPv4 address
// ---------------------------------------------------------------------------------------------

const V4 = (value: number | bigint): IpAddress => ({ version: 4, value: BigInt(value) & 0xffffffffn });
const V6 = (value: bigint): IpAddress => ({ version: 6, value });
const v4Of = (text: string) => parseIp(text)!.value;

/** IPv4 addresses from every range the guard refuses, metadata first, plus arbitrary ones. */
const REFUSED_V4 = ['169.254.169.254', '168.63.129.16', '100.100.100.200', '127.0.0.1', '127.1.2.3', '10.0.0.1', '172.16.5.4', '192.168.1.1', '169.254.0.1', '100.64.0.1', '0.0.0.0', '0.1.2.3', '224.0.0.251', '240.0.0.1', '255.255.255.255', '192.0.0.8', '192.0.2.1', '198.18.0.1', '198.51.100.7', '203.0.113.9', '192.88.99.1'];
const refusedV4 = fc.oneof(fc.constantFrom(...REFUSED_V4).map(v4Of), fc.integer({ min: 0, max: 0xffffffff }).map(BigInt)).map(V4).filter((ip) => classifyAddress(ip) !== 'public');
const anyV4 = fc.oneof(refusedV4, fc.integer({ min: 0, max: 0xffffffff }).map(V4));
const bits = (n: number) => fc.bigInt({ min: 0n, max: (1n << BigInt(n)) - 1n });

/** Several spellings of one IPv6 address: full groups, the URL parser's compressed form, a dotted-quad tail, upper case. */
function spellings(ip: IpAddress): string[] {
  const full = formatIp(ip);
  const groups = full.split(':');
  const low = ip.value & 0xffffffffn;
  const dotted = `${groups.slice(0, 6).join(':')}:${formatIp(V4(low))}`;
  const compressed = new URL(`http://[${full}]/`).hostname.slice(1, -1);
  return [full, compressed, dotted, full.toUpperCase(), groups.map((g) => g.padStart(4, '0')).join(':')];
}

/** The SSRF decision for an IPv6 address, every way it can be written, must be the one for `expected`. */
function expectRefusedLike(ip: IpAddress, expected: AddressClass): void {
  for (const text of spellings(ip)) {
    expect(classifyAddress(parseIp(text)!), text).toBe(expected);
    const url = vetUrl(`https://[${text}]/hook`, allow());
    expect(url.ok, text).toBe(expected === 'public');
  }
}

/** RFC 6052 §2.2: the IPv4 address after a prefix of `length` bits, skipping bits 64..71 (the "u" octet). */
function rfc6052(prefix: bigint, length: 32 | 40 | 48 | 56 | 64 | 96, v4: bigint, suffix: bigint): bigint {
  const at = (value: bigint, shift: number) => value << BigInt(128 - shift);
  if (length === 96) return prefix | v4;
  if (length === 64) return prefix | at(v4, 104) | (suffix & 0xffffffn);
  const before = 64 - length; // IPv4 bits before the u octet
  const after = 32 - before;
  const high = v4 >> BigInt(after);
  const lowPart = v4 & ((1n << BigInt(after)) - 1n);
  return prefix | at(high, 64) | at(lowPart, 72 + after) | (suffix & ((1n << BigInt(56 - after)) - 1n));
}

describe('IPv6 forms that carry an IPv4 address are judged as that IPv4 address', () => {
  it.each([
    // The probe's findings: IPv4-translated (RFC 2765) and NAT64 local-use (RFC 8215).
    ['::ffff:0:a9fe:a9fe', 'metadata'],
    ['::ffff:0:7f00:1', 'loopback'],
    ['::ffff:0:10.0.0.1', 'private'],
    ['::ffff:0:8.8.8.8', 'public'],
    ['64:ff9b:1::a9fe:a9fe', 'metadata'],
    ['64:ff9b:1:a9fe:a9:fe00::', 'metadata'], // /48 layout
    ['64:ff9b:1:7f00:0:100::', 'reserved'], // loopback in the /48 layout, but a reading is a guess: the prefix refuses it
    ['64:ff9b:1::8.8.8.8', 'reserved'], // local-use translation is never globally reachable
    ['64:ff9b::169.254.169.254', 'metadata'],
    ['64:ff9b::8.8.8.8', 'public'],
    ['::169.254.169.254', 'metadata'],
    ['::a9fe:a9fe', 'metadata'],
    ['::8.8.8.8', 'public'],
    ['2002:a9fe:a9fe::1', 'metadata'],
    ['2002:0808:0808::1', 'public'],
    // Teredo: server 65.54.227.120, client = NOT of the last 32 bits.
    ['2001:0:4136:e378:8000:63bf:5601:5601', 'metadata'], // client ~0x5601_5601 = 169.254.169.254
    ['2001:0:a9fe:a9fe:8000:63bf:3fff:fdd2', 'metadata'], // server 169.254.169.254
    ['2001:0:4136:e378:8000:63bf:80ff:fffe', 'loopback'], // client 127.0.0.1
    ['2001:0:4136:e378:8000:63bf:3fff:fdd2', 'reserved'], // client 192.0.2.45: documentation
    ['2001:0:4136:e378:8000:63bf:f7f7:f7f7', 'reserved'], // both public: Teredo itself is refused
    // ISATAP interface ids (RFC 5214), u/g bits set or not, under any prefix.
    ['fe80::5efe:a9fe:a9fe', 'metadata'],
    ['2a00:1450:4001:81c:200:5efe:a9fe:a9fe', 'metadata'],
    ['2a00:1450:4001:81c:0:5efe:7f00:1', 'loopback'],
    ['2a00:1450:4001:81c:300:5efe:a00:1', 'private'],
    ['2a00:1450:4001:81c:200:5efe:808:808', 'public'],
    // IPv6 space that is not global unicast, or special-purpose within it.
    ['5f00::1', 'reserved'],
    ['3fff::1', 'reserved'],
    ['2001:2::1', 'reserved'],
    ['100::1', 'reserved'],
    ['4000::1', 'reserved'],
    ['e000::1', 'reserved'],
    ['2606:4700::1111', 'public'],
    ['2a00:1450:4001:81c::200e', 'public'],
  ] as [string, AddressClass][])('%s is %s', (addr, expected) => {
    expect(classifyAddress(parseIp(addr)!)).toBe(expected);
  });

  it('refuses the metadata service in every form even when the host or a CIDR is allowlisted', () => {
    const listed = vetUrl('https://hooks.example.com/x', allow('hooks.example.com', '::/0', '0.0.0.0/0'));
    if (!listed.ok) throw new Error(listed.reason);
    for (const a of ['::ffff:0:a9fe:a9fe', '64:ff9b:1::a9fe:a9fe', '64:ff9b:1:a9fe:a9:fe00::', '::a9fe:a9fe', '2002:a9fe:a9fe::', '2001:0:4136:e378:8000:63bf:5601:5601', 'fe80::5efe:a9fe:a9fe', '64:ff9b::a83f:8110']) {
      expect(vetAddress(a, listed.value, allow('hooks.example.com', '::/0', '0.0.0.0/0')), a).toMatchObject({ ok: false, reason: expect.stringMatching(/metadata/) });
    }
  });

  it('lists what each address carries', () => {
    expect(embeddedIpv4s(parseIp('2001:0:4136:e378:8000:63bf:3fff:fdd2')!).map((e) => [e.form, formatIp(e.ipv4)])).toEqual([
      ['teredo-server', '65.54.227.120'],
      ['teredo-client', '192.0.2.45'],
    ]);
    expect(embeddedIpv4s(parseIp('8.8.8.8')!)).toEqual([]);
    expect(embeddedIpv4s(parseIp('2606:4700::1111')!)).toEqual([]);
  });

  it('property: IPv4-mapped ::ffff:0:0/96', () => {
    fc.assert(fc.property(anyV4, (v4) => expectRefusedLike(V6(0xffff00000000n | v4.value), classifyAddress(v4))));
  });
  it('property: IPv4-compatible ::/96 (deprecated)', () => {
    fc.assert(fc.property(anyV4.filter((v4) => v4.value > 1n), (v4) => expectRefusedLike(V6(v4.value), classifyAddress(v4))));
  });
  it('property: IPv4-translated ::ffff:0:0:0/96 (RFC 2765)', () => {
    fc.assert(fc.property(anyV4, (v4) => expectRefusedLike(V6(0xffff000000000000n | v4.value), classifyAddress(v4))));
  });
  it('property: NAT64 well-known prefix 64:ff9b::/96 (RFC 6052)', () => {
    fc.assert(fc.property(anyV4, (v4) => expectRefusedLike(V6((0x64ff9bn << 96n) | v4.value), classifyAddress(v4))));
  });
  it('property: NAT64 local-use 64:ff9b:1::/48 (RFC 8215), every RFC 6052 layout within it, is never public', () => {
    const prefix = 0x0064ff9b0001n << 80n;
    fc.assert(
      fc.property(anyV4, fc.constantFrom(48 as const, 56 as const, 64 as const, 96 as const), bits(56), bits(40), (v4, length, suffix, subnet) => {
        const mask = length > 48 ? subnet & ((1n << BigInt(length - 48)) - 1n) : 0n;
        const ip = V6(rfc6052(prefix | (mask << BigInt(128 - length)), length, v4.value, suffix));
        const expected = classifyAddress(v4);
        const got = classifyAddress(ip);
        expect(got).not.toBe('public');
        if (expected === 'metadata') expect(got).toBe('metadata');
        for (const text of spellings(ip)) expect(vetUrl(`https://[${text}]/`, allow()).ok).toBe(false);
      }),
    );
  });
  it('property: 6to4 2002::/16 (RFC 3056)', () => {
    fc.assert(
      fc.property(anyV4, bits(16), bits(64), (v4, sla, iid) => {
        fc.pre(((iid >> 32n) & 0xfcffffffn) !== 0x5efen); // not also an ISATAP interface id
        expectRefusedLike(V6((0x2002n << 112n) | (v4.value << 80n) | (sla << 64n) | iid), classifyAddress(v4));
      }),
    );
  });
  it('property: Teredo 2001::/32 (RFC 4380): server, and client as the NOT of the last 32 bits; never public', () => {
    fc.assert(
      fc.property(anyV4, anyV4, bits(16), bits(16), (server, client, flags, port) => {
        const ip = V6((0x20010000n << 96n) | (server.value << 64n) | (flags << 48n) | (port << 32n) | (~client.value & 0xffffffffn));
        const got = classifyAddress(ip);
        expect(got).not.toBe('public');
        const inner = [classifyAddress(server), classifyAddress(client)];
        if (inner.includes('metadata')) expect(got).toBe('metadata');
        else expect(got).toBe(inner.find((c) => c !== 'public') ?? 'reserved');
        for (const text of spellings(ip)) expect(vetUrl(`https://[${text}]/`, allow()).ok).toBe(false);
      }),
    );
  });
  it('property: ISATAP interface ids (RFC 5214) under a global prefix are judged by the IPv4 they carry', () => {
    fc.assert(
      fc.property(anyV4, bits(44), fc.constantFrom(0x0n, 0x100n, 0x200n, 0x300n), (v4, net, ug) => {
        const prefix = (0x2a00n << 112n) | (net << 64n); // within 2a00::/12, allocated global unicast
        expectRefusedLike(V6(prefix | (ug << 48n) | (0x5efen << 32n) | v4.value), classifyAddress(v4));
      }),
    );
  });
  it('property: whatever a refused IPv4 is wrapped in, it is refused', () => {
    const forms = (v: bigint, x: bigint): bigint[] => [
      0xffff00000000n | v,
      0xffff000000000000n | v,
      (0x64ff9bn << 96n) | v,
      (0x0064ff9b0001n << 80n) | v,
      (0x2002n << 112n) | (v << 80n),
      (0x20010000n << 96n) | (0x41_36_e3_78n << 64n) | (~v & 0xffffffffn),
      (0x20010000n << 96n) | (v << 64n) | (x & 0xffffffffn),
      (0x2a00n << 112n) | (0x5efen << 32n) | v,
      (0xfe80n << 112n) | (0x200n << 48n) | (0x5efen << 32n) | v,
    ];
    fc.assert(
      fc.property(refusedV4, bits(32), (v4, x) => {
        for (const value of forms(v4.value, x)) {
          expect(classifyAddress(V6(value)), formatIp(V6(value))).not.toBe('public');
          if (classifyAddress(v4) === 'metadata') expect(classifyAddress(V6(value))).toBe('metadata');
        }
      }),
    );
  });
});

describe('refusal reasons', () => {
  it('name the IPv4 address an IPv6 address carries', () => {
    expect(vetUrl('https://[::ffff:0:7f00:1]/', allow())).toEqual({ ok: false, reason: 'the host resolves to a loopback address (0:0:0:0:ffff:0:7f00:1 carries 127.0.0.1, ipv4-translated)' });
    expect(vetUrl('https://[64:ff9b:1::a9fe:a9fe]/', allow())).toMatchObject({ ok: false, reason: expect.stringContaining('carries 169.254.169.254, nat64-local') });
    expect(vetUrl('https://10.0.0.1/', allow())).toEqual({ ok: false, reason: 'the host resolves to a private address' });
  });
});
