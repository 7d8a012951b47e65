import { describe, expect, it } from 'vitest';
import { classifyAddress, parseAllowlist, parseIp, vetAddress, vetUrl, formatIp } from '../../../domain/webhook-ssrf.js';

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
