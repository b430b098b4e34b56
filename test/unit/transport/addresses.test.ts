// The SSRF guard's address classes: one row per address. The IPv6 rows include every way IPv6
// can carry an IPv4 address, each with a non-public IPv4 inside (which must not pass as public)
// and a public one (which must).
import { describe, expect, it } from 'vitest';
import { classifyAddress, type AddressClass } from '../../../lib/transport/addresses.ts';

type Row = [address: string, expected: AddressClass];

const ipv4: Row[] = [
  ['0.0.0.0', 'reserved'],
  ['0.1.2.3', 'reserved'],
  ['10.0.0.8', 'private'],
  ['10.255.255.255', 'private'],
  ['100.64.0.1', 'private'], // carrier-grade NAT
  ['100.127.255.255', 'private'],
  ['100.100.100.200', 'metadata'], // Alibaba Cloud
  ['127.0.0.1', 'loopback'],
  ['127.1.2.3', 'loopback'],
  ['169.254.0.1', 'link-local'],
  ['169.254.169.254', 'metadata'],
  ['172.16.0.1', 'private'],
  ['172.31.255.255', 'private'],
  ['192.0.0.1', 'reserved'],
  ['192.0.2.45', 'reserved'],
  ['192.168.1.1', 'private'],
  ['198.18.0.1', 'reserved'],
  ['198.19.255.255', 'reserved'],
  ['198.51.100.7', 'reserved'],
  ['203.0.113.9', 'reserved'],
  ['224.0.0.1', 'reserved'], // multicast
  ['239.255.255.250', 'reserved'],
  ['240.0.0.1', 'reserved'],
  ['255.255.255.255', 'reserved'], // broadcast
  // public, including the neighbours of the ranges above
  ['8.8.8.8', 'public'],
  ['1.1.1.1', 'public'],
  ['100.63.255.255', 'public'],
  ['100.128.0.0', 'public'],
  ['172.15.255.255', 'public'],
  ['172.32.0.0', 'public'],
  ['192.0.1.1', 'public'],
  ['198.17.255.255', 'public'],
  ['198.20.0.0', 'public'],
  ['223.255.255.255', 'public'],
];

const ipv6: Row[] = [
  ['::', 'reserved'],
  ['::1', 'loopback'],
  ['fe80::1', 'link-local'],
  ['febf:ffff::1', 'link-local'],
  ['fec0::1', 'private'], // site-local, deprecated
  ['feff::1', 'private'],
  ['fc00::1', 'private'], // unique local
  ['fd12:3456:789a::1', 'private'],
  ['fd00:ec2::254', 'metadata'], // AWS
  ['ff02::1', 'reserved'], // multicast
  ['ff05::1:3', 'reserved'],
  ['2001:db8::1', 'reserved'], // documentation
  ['3fff::1', 'reserved'], // documentation (RFC 9637)
  ['100::1', 'reserved'], // discard
  ['100:0:0:1::1', 'reserved'], // dummy prefix (RFC 9780)
  ['2001:2::1', 'reserved'], // benchmarking
  ['2001:10::1', 'reserved'], // ORCHID
  ['5f00::1', 'reserved'], // segment routing
  ['4000::1', 'reserved'], // outside 2000::/3, unallocated
  ['200::1', 'reserved'],
  // public
  ['2606:4700:4700::1111', 'public'],
  ['2001:4860:4860::8888', 'public'],
  ['2a00:1450:4001::1', 'public'],
  ['3ffe::1', 'public'],
];

// Each embedding form: metadata, loopback and private IPv4 inside, then a public one.
const embedded: Row[] = [
  // IPv4-mapped ::ffff:0:0/96
  ['::ffff:169.254.169.254', 'metadata'],
  ['::ffff:a9fe:a9fe', 'metadata'],
  ['::ffff:127.0.0.1', 'loopback'],
  ['::ffff:7f00:1', 'loopback'],
  ['::ffff:10.0.0.1', 'private'],
  ['::ffff:100.100.100.200', 'metadata'],
  ['::ffff:8.8.8.8', 'public'],
  // IPv4-compatible ::/96 (deprecated, not routed: public inside is still reserved)
  ['::169.254.169.254', 'metadata'],
  ['::a9fe:a9fe', 'metadata'],
  ['::127.0.0.1', 'reserved'], // embedded loopback is not this machine's: no loopback allowance
  ['::10.0.0.1', 'private'],
  ['::2', 'reserved'], // 0.0.0.2
  ['::8.8.8.8', 'reserved'],
  // IPv4-translated, SIIT ::ffff:0:0:0/96 (not routed either)
  ['::ffff:0:a9fe:a9fe', 'metadata'],
  ['::ffff:0:169.254.169.254', 'metadata'],
  ['::ffff:0:127.0.0.1', 'reserved'],
  ['::ffff:0:192.168.0.1', 'private'],
  ['::ffff:0:8.8.8.8', 'reserved'],
  // NAT64 well-known prefix 64:ff9b::/96: judged by the IPv4
  ['64:ff9b::a9fe:a9fe', 'metadata'],
  ['64:ff9b::169.254.169.254', 'metadata'],
  ['64:ff9b::127.0.0.1', 'reserved'],
  ['64:ff9b::10.1.2.3', 'private'],
  ['64:ff9b::808:808', 'public'],
  ['64:ff9b::8.8.8.8', 'public'],
  // NAT64 local-use prefix 64:ff9b:1::/48: never public
  ['64:ff9b:1::a9fe:a9fe', 'metadata'],
  ['64:ff9b:1::127.0.0.1', 'reserved'],
  ['64:ff9b:1::10.0.0.1', 'private'],
  ['64:ff9b:1::8.8.8.8', 'reserved'],
  ['64:ff9b:1:ffff::1', 'reserved'],
  // 6to4 2002::/16, IPv4 in bits 16-47
  ['2002:a9fe:a9fe::1', 'metadata'],
  ['2002:7f00:1::1', 'reserved'],
  ['2002:a00:1::1', 'private'],
  ['2002:c0a8:101:1::1', 'private'],
  ['2002:0808:0808::1', 'public'],
  // Teredo 2001::/32: server IPv4 in bits 32-63, client IPv4 inverted in the low 32 bits
  ['2001:0:4136:e378:8000:63bf:5601:5601', 'metadata'], // client 169.254.169.254
  ['2001:0:4136:e378:8000:63bf:80ff:fffe', 'reserved'], // client 127.0.0.1
  ['2001:0:4136:e378:8000:63bf:f5ff:fffe', 'private'], // client 10.0.0.1
  ['2001:0:4136:e378:8000:63bf:3fff:fdd2', 'reserved'], // RFC 4380's example: client 192.0.2.45
  ['2001:0:a9fe:a9fe:8000:63bf:f7f7:f7f7', 'metadata'], // server 169.254.169.254
  ['2001:0:a00:1:8000:63bf:f7f7:f7f7', 'private'], // server 10.0.0.1
  ['2001:0:4136:e378:8000:63bf:f7f7:f7f7', 'public'], // server 65.54.227.120, client 8.8.8.8
];

const spellings: Row[] = [
  ['[::1]', 'loopback'],
  ['[fd00:ec2::254]', 'metadata'],
  ['[::ffff:169.254.169.254]', 'metadata'],
  ['[2606:4700:4700::1111]', 'public'],
  ['[127.0.0.1]', 'loopback'],
  ['fe80::1%eth0', 'link-local'],
  ['fe80::1%br-0a1b2c', 'link-local'],
  ['fe80::1%eth0.5', 'link-local'],
  ['[fe80::1%25eth0]', 'link-local'],
  ['::ffff:169.254.169.254%2', 'metadata'],
  ['FE80::1', 'link-local'],
  ['FD00:EC2::254', 'metadata'],
  ['FEC0::1', 'private'],
  ['::FFFF:0:A9FE:A9FE', 'metadata'],
  ['64:FF9B:1::A9FE:A9FE', 'metadata'],
  ['0:0:0:0:0:0:0:1', 'loopback'],
  ['0000:0000:0000:0000:0000:ffff:a9fe:a9fe', 'metadata'],
  ['fe80:0:0:0:0:0:0:1', 'link-local'],
  ['0:0:0:0:0:ffff:169.254.169.254', 'metadata'],
  ['2002:808:808:0:0:0:0:1', 'public'],
];

describe('classifyAddress', () => {
  describe.each([
    ['IPv4', ipv4],
    ['IPv6', ipv6],
    ['IPv4 embedded in IPv6', embedded],
    ['spellings', spellings],
  ])('%s', (_group, rows) => {
    it.each(rows)('%s is %s', (address, expected) => {
      expect(classifyAddress(address)).toBe(expected);
    });
  });

  describe('anything else is not an address', () => {
    it.each([
      '',
      'registry.example',
      'localhost',
      '127.0.0.1.nip.io',
      '1.2.3',
      '1.2.3.4.5',
      '256.0.0.1',
      '1.2.3.-4',
      '01.2.3.4', // octal-looking: WHATWG URL and DNS answers never spell it so
      '0x7f.0.0.1',
      '127.1',
      '2130706433',
      ' 127.0.0.1',
      '127.0.0.1 ',
      '127.0.0.1%eth0',
      ':',
      ':::',
      '1::2::3',
      ':1::',
      '::1:',
      '1:2:3:4:5:6:7',
      '1:2:3:4:5:6:7:8:9',
      '1:2:3:4:5:6:7:8::',
      '::1:2:3:4:5:6:7:8',
      '12345::1',
      'g::1',
      '::ffff:1.2.3',
      '::ffff:256.0.0.1',
      '1.2.3.4::',
      '::1.2.3.4:5',
      '1:2:3:4:5:6:7:1.2.3.4',
      '[::1',
      '::1]',
      '[[::1]]',
    ])('%j', (text) => {
      expect(classifyAddress(text)).toBeUndefined();
    });
  });
});
