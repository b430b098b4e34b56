// Which IP addresses a service must not be sent to by a registry it was told to talk to: loopback,
// private, link-local (cloud metadata lives there: 169.254.169.254, fd00:ec2::254), and the other
// special-purpose ranges. IPv4 embedded in IPv6 (mapped, compatible, SIIT, NAT64, 6to4, Teredo)
// that is not public makes the address not public. Pure parsing, no `node:` modules: the Deno
// transport uses it too.
//
// Hand-written rather than ipaddr.js (2.5.0 was evaluated): it names most ranges, but extracts
// embedded IPv4 only from ::ffff:0:0/96, so NAT64, 6to4, Teredo, SIIT and compatible addresses
// would still need the bit arithmetic below; it files 64:ff9b::/96 (judged by its IPv4) and
// 64:ff9b:1::/48 (never public) under one name; its zone ids are [0-9a-z] only, so
// `fe80::1%br-1` would not parse and the guard would let it through; and it rewrites
// `::a.b.c.d` to `::ffff:a.b.c.d`. Its octal, hex and shortened IPv4 forms would not matter
// here (DNS answers and WHATWG-parsed hostnames are canonical), but the parser below is smaller
// than the adapter it would need.

export type AddressClass = 'public' | 'loopback' | 'private' | 'link-local' | 'metadata' | 'reserved';

interface Range {
  /** Network address as a bigint, and prefix length. */
  base: bigint;
  prefix: number;
  class: AddressClass;
}

const cidr = (base: bigint | undefined, prefix: number, cls: AddressClass): Range => ({ base: base!, prefix, class: cls });
const v4 = (text: string, prefix: number, cls: AddressClass) => cidr(parseIPv4(text), prefix, cls);
const v6 = (text: string, prefix: number, cls: AddressClass) => cidr(parseIPv6(text), prefix, cls);

// First match wins: the metadata addresses come before the ranges holding them.
const ipv4Ranges: Range[] = [
  v4('169.254.169.254', 32, 'metadata'),
  v4('100.100.100.200', 32, 'metadata'), // Alibaba Cloud
  v4('0.0.0.0', 8, 'reserved'),
  v4('10.0.0.0', 8, 'private'),
  v4('100.64.0.0', 10, 'private'), // carrier-grade NAT, shared address space
  v4('127.0.0.0', 8, 'loopback'),
  v4('169.254.0.0', 16, 'link-local'),
  v4('172.16.0.0', 12, 'private'),
  v4('192.0.0.0', 24, 'reserved'), // IETF protocol assignments
  v4('192.0.2.0', 24, 'reserved'), // documentation
  v4('192.168.0.0', 16, 'private'),
  v4('198.18.0.0', 15, 'reserved'), // benchmarking
  v4('198.51.100.0', 24, 'reserved'), // documentation
  v4('203.0.113.0', 24, 'reserved'), // documentation
  v4('224.0.0.0', 4, 'reserved'), // multicast
  v4('240.0.0.0', 4, 'reserved'), // future use, and the broadcast 255.255.255.255
];

// Checked after the embedded IPv4 (see classifyIPv6), so a `public` row here means "public if
// the IPv4 it carries is".
const ipv6Ranges: Range[] = [
  v6('fd00:ec2::254', 128, 'metadata'), // AWS over IPv6
  v6('::', 128, 'reserved'),
  v6('::1', 128, 'loopback'),
  v6('::ffff:0:0', 96, 'public'), // IPv4-mapped: the connection is made over IPv4
  v6('64:ff9b::', 96, 'public'), // NAT64 well-known prefix, globally reachable (RFC 6052)
  v6('64:ff9b:1::', 48, 'reserved'), // NAT64 local use (RFC 8215)
  v6('100::', 64, 'reserved'), // discard only (RFC 6666)
  v6('100:0:0:1::', 64, 'reserved'), // dummy prefix (RFC 9780)
  v6('2001::', 32, 'public'), // Teredo
  // IETF protocol assignments: benchmarking, ORCHID and a few anycast, AMT and AS112 blocks that
  // are globally reachable but never hold a registry.
  v6('2001::', 23, 'reserved'),
  v6('2001:db8::', 32, 'reserved'), // documentation
  v6('2002::', 16, 'public'), // 6to4
  v6('3fff::', 20, 'reserved'), // documentation (RFC 9637)
  v6('5f00::', 16, 'reserved'), // segment routing SIDs (RFC 9602)
  v6('fc00::', 7, 'private'), // unique local
  v6('fec0::', 10, 'private'), // site-local, deprecated (RFC 3879) but still routed by some
  v6('fe80::', 10, 'link-local'),
  v6('ff00::', 8, 'reserved'), // multicast
  // Only 2000::/3 is allocated for global unicast; the rest (IPv4-compatible and SIIT
  // addresses among it) is reserved by the IETF.
  v6('2000::', 3, 'public'),
];

const MASK32 = 0xffffffffn;

/** The class of an IP address (IPv4 dotted, IPv6 with or without brackets or zone); undefined if not an IP. */
export function classifyAddress(address: string): AddressClass | undefined {
  const text = address.startsWith('[') && address.endsWith(']') ? address.slice(1, -1) : address;
  const ipv4 = parseIPv4(text);
  if (ipv4 !== undefined) return match(ipv4Ranges, ipv4, 32) ?? 'public';
  const ipv6 = parseIPv6(text);
  return ipv6 === undefined ? undefined : classifyIPv6(ipv6);
}

function classifyIPv6(value: bigint): AddressClass {
  // Only a mapped address reaches this machine's IPv4 loopback; through a translator or tunnel,
  // 127.0.0.0/8 is someone else's: never covered by a local service's loopback allowance.
  const mapped = value >> 32n === 0xffffn;
  for (const ipv4 of embeddedIPv4(value)) {
    const kind = match(ipv4Ranges, ipv4, 32);
    if (kind === 'loopback' && !mapped) return 'reserved';
    if (kind !== undefined) return kind;
  }
  return match(ipv6Ranges, value, 128) ?? 'reserved';
}

function match(ranges: Range[], value: bigint, bits: 32 | 128): AddressClass | undefined {
  for (const range of ranges) {
    const shift = BigInt(bits - range.prefix);
    if (value >> shift === range.base >> shift) return range.class;
  }
  return undefined;
}

/**
 * The IPv4 addresses an IPv6 address carries: mapped (::ffff:0:0/96), SIIT (::ffff:0:0:0/96),
 * compatible (::/96 but :: and ::1), NAT64 (64:ff9b::/96, 64:ff9b:1::/48 in the low 32 bits),
 * 6to4 (2002::/16, bits 16-47), Teredo (2001::/32: the client, inverted in the low 32 bits,
 * which is where packets go, then the server in bits 32-63).
 */
function embeddedIPv4(value: bigint): bigint[] {
  const low32 = value & MASK32;
  const high96 = value >> 32n;
  if (high96 === 0xffffn || high96 === 0xffff0000n) return [low32];
  if (high96 === 0n) return low32 > 1n ? [low32] : [];
  if (high96 === 0x64ff9b0000000000000000n || value >> 80n === 0x64ff9b0001n) return [low32];
  if (value >> 112n === 0x2002n) return [(value >> 80n) & MASK32];
  if (value >> 96n === 0x20010000n) return [low32 ^ MASK32, (value >> 64n) & MASK32];
  return [];
}

/** Dotted decimal only, no leading zeros: the form DNS answers and WHATWG URL hostnames use. */
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

/** RFC 4291 text form, any case, with an optional trailing dotted IPv4 and zone id (ignored). */
export function parseIPv6(text: string): bigint | undefined {
  const zone = text.indexOf('%');
  let body = zone >= 0 ? text.slice(0, zone) : text;
  // A trailing dotted IPv4 stands for the last two groups.
  if (body.includes('.')) {
    const lastColon = body.lastIndexOf(':');
    const ipv4 = lastColon < 0 ? undefined : parseIPv4(body.slice(lastColon + 1));
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
