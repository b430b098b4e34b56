// Which IP addresses a service must not be sent to by a registry it was told to talk to: loopback,
// private, link-local (cloud metadata lives there: 169.254.169.254, fd00:ec2::254), and the other
// special-purpose ranges. IPv4 embedded in IPv6 (mapped, compatible, NAT64, 6to4) is judged as the
// IPv4 address it carries. Pure parsing, no `node:` modules: the Deno transport uses it too.

export type AddressClass = 'public' | 'loopback' | 'private' | 'link-local' | 'metadata' | 'reserved';

interface Range {
  /** Address as a bigint, prefix length, family width. */
  base: bigint;
  prefix: number;
  bits: 32 | 128;
  class: Exclude<AddressClass, 'public'>;
}

const v4 = (text: string, prefix: number, cls: Range['class']): Range => ({ base: parseIPv4(text)!, prefix, bits: 32, class: cls });
const v6 = (text: string, prefix: number, cls: Range['class']): Range => ({ base: parseIPv6(text)!, prefix, bits: 128, class: cls });

// Most specific first: the metadata addresses inside link-local and ULA ranges.
const ranges: Range[] = [
  v4('169.254.169.254', 32, 'metadata'),
  v4('100.100.100.200', 32, 'metadata'), // Alibaba Cloud
  v6('fd00:ec2::254', 128, 'metadata'), // AWS over IPv6
  v4('0.0.0.0', 8, 'reserved'),
  v4('10.0.0.0', 8, 'private'),
  v4('100.64.0.0', 10, 'private'), // carrier-grade NAT, shared address space
  v4('127.0.0.0', 8, 'loopback'),
  v4('169.254.0.0', 16, 'link-local'),
  v4('172.16.0.0', 12, 'private'),
  v4('192.0.0.0', 24, 'reserved'),
  v4('192.0.2.0', 24, 'reserved'),
  v4('192.168.0.0', 16, 'private'),
  v4('198.18.0.0', 15, 'reserved'),
  v4('198.51.100.0', 24, 'reserved'),
  v4('203.0.113.0', 24, 'reserved'),
  v4('224.0.0.0', 4, 'reserved'), // multicast
  v4('240.0.0.0', 4, 'reserved'), // includes 255.255.255.255
  v6('::', 128, 'reserved'),
  v6('::1', 128, 'loopback'),
  v6('fc00::', 7, 'private'), // unique local
  v6('fe80::', 10, 'link-local'),
  v6('ff00::', 8, 'reserved'), // multicast
  v6('2001:db8::', 32, 'reserved'), // documentation
];

/** The class of an IP address (IPv4 dotted, IPv6 with or without brackets); undefined if not an IP. */
export function classifyAddress(address: string): AddressClass | undefined {
  const text = address.startsWith('[') && address.endsWith(']') ? address.slice(1, -1) : address;
  const ipv4 = parseIPv4(text);
  if (ipv4 !== undefined) return classify(ipv4, 32);
  const ipv6 = parseIPv6(text);
  if (ipv6 === undefined) return undefined;
  const embedded = embeddedIPv4(ipv6);
  return embedded === undefined ? classify(ipv6, 128) : classify(embedded, 32);
}

function classify(value: bigint, bits: 32 | 128): AddressClass {
  for (const range of ranges) {
    if (range.bits !== bits) continue;
    const shift = BigInt(bits - range.prefix);
    if (value >> shift === range.base >> shift) return range.class;
  }
  return 'public';
}

/** IPv4 carried in IPv6: mapped (::ffff:a.b.c.d), compatible (::a.b.c.d), NAT64 (64:ff9b::/96), 6to4 (2002::/16). */
function embeddedIPv4(value: bigint): bigint | undefined {
  const low32 = value & 0xffffffffn;
  const high96 = value >> 32n;
  if (high96 === 0xffffn) return low32;
  if (high96 === 0n && low32 > 1n) return low32;
  if (high96 === 0x64ff9b0000000000000000n) return low32;
  if (value >> 112n === 0x2002n) return (value >> 80n) & 0xffffffffn;
  return undefined;
}

export function parseIPv4(text: string): bigint | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0n;
  for (const part of parts) {
    if (!/^(0|[1-9]\d{0,2})$/.test(part) || Number(part) > 255) return undefined;
    value = (value << 8n) | BigInt(part);
  }
  return value;
}

export function parseIPv6(text: string): bigint | undefined {
  const zone = text.indexOf('%');
  let body = zone >= 0 ? text.slice(0, zone) : text;
  // A trailing dotted IPv4 stands for the last two groups.
  const lastColon = body.lastIndexOf(':');
  if (body.includes('.')) {
    const ipv4 = parseIPv4(body.slice(lastColon + 1));
    if (ipv4 === undefined) return undefined;
    body = `${body.slice(0, lastColon + 1)}${(ipv4 >> 16n).toString(16)}:${(ipv4 & 0xffffn).toString(16)}`;
  }
  const halves = body.split('::');
  if (halves.length > 2) return undefined;
  const groups = (s: string) => (s === '' ? [] : s.split(':'));
  const head = groups(halves[0]!);
  const tail = halves.length === 2 ? groups(halves[1]!) : [];
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  let value = 0n;
  for (const group of [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...tail]) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(group)) return undefined;
    value = (value << 16n) | BigInt(`0x${group}`);
  }
  return value;
}
