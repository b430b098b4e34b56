// Image references: parsing, normalization and formatting.
//
// Follows the grammar of github.com/distribution/reference (reference.go,
// normalize.go, regexp.go):
//
//   reference       := name [ ":" tag ] [ "@" digest ]
//   name            := [ domain "/" ] path-component ( "/" path-component )*
//   domain          := host [ ":" port ]
//   host            := domain-name | "[" IPv6address "]"
//   path-component  := alphanumeric ( separator alphanumeric )*
//   tag             := [\w][\w.-]{0,127}
//   digest          := algorithm ":" encoded
//
// with Docker's normalization: a first component that is not a registry host
// means Docker Hub ("docker.io"), and one-component Docker Hub paths get the
// "library/" prefix. Instead of a single big regular expression, each part is
// checked on its own so that errors can say exactly what is wrong.
//
// Web-standard JavaScript only (runs on Node, Deno and in Lambda).

export interface Reference {
  /** Normalized, lower-cased host[:port]; 'docker.io' for Docker Hub. */
  registry: string;
  /** Path without the registry, e.g. 'library/busybox' on Docker Hub. */
  repository: string;
  tag?: string;
  /** 'algorithm:encoded', e.g. 'sha256:<64 hex>'. */
  digest?: string;
}

/** A reference that names a tag (every destination, and a source that is not pinned). */
export type TaggedReference = Reference & { tag: string };

/** What goes into a manifest URL for this reference: its digest when pinned, else its tag. */
export function manifestRef(ref: Reference): string {
  // parseReference gives every reference a tag or a digest.
  return ref.digest ?? ref.tag ?? DEFAULT_TAG;
}

/** A reference that is a tag, or undefined (one pinned by digest). */
export function tagged(ref: Reference): TaggedReference | undefined {
  return ref.tag !== undefined && ref.digest === undefined ? (ref as TaggedReference) : undefined;
}

export class InvalidReferenceError extends Error {
  override readonly name = 'InvalidReferenceError';
  readonly input: string;
  readonly reason: string;

  constructor(input: string, reason: string) {
    super(`invalid reference ${quote(input)}: ${reason}`);
    this.input = input;
    this.reason = reason;
  }
}

// ---------------------------------------------------------------------------
// Grammar, built from named parts (see regexp.go).

// A run of lower-case letters and digits: the atoms of a path component.
const alphanumeric = '[a-z0-9]+';
// Between atoms: one '.', one '_', two '_' or any number of '-'.
const separator = '(?:[._]|__|[-]+)';
// One component of a repository path, e.g. 'library' or 'my-app_2'.
const pathComponent = `${alphanumeric}(?:${separator}${alphanumeric})*`;
// One DNS label of a registry host name: alphanumerics and inner dashes.
const domainNameComponent = '[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?';
// A host name or IPv4 address: labels joined by dots.
const domainName = `${domainNameComponent}(?:\\.${domainNameComponent})*`;
// An IPv6 address in brackets; no zone ids, no embedded IPv4 (as Docker).
const ipv6Address = '\\[[a-fA-F0-9:]+\\]';
// A port number: digits only.
const port = '[0-9]+';
// A tag: a word character, then up to 127 word characters, dots or dashes.
const tag = '[\\w][\\w.-]{0,127}';
// A digest algorithm: components like 'sha256' joined by '-', '_', '+' or '.'.
const digestAlgorithm = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*';
// The encoded part of a digest: hex, or url-safe base64 for future algorithms.
const digestEncoded = '[a-zA-Z0-9=_-]+';
// A bare image id: 64 lower-case hex digits, never a valid repository name.
const identifier = '[a-f0-9]{64}';

const anchored = (pattern: string): RegExp => new RegExp(`^(?:${pattern})$`);

const PATH_COMPONENT_RE = anchored(pathComponent);
const DOMAIN_NAME_RE = anchored(domainName);
const IPV6_ADDRESS_RE = anchored(ipv6Address);
const PORT_RE = anchored(port);
const TAG_RE = anchored(tag);
const DIGEST_ALGORITHM_RE = anchored(digestAlgorithm);
const DIGEST_ENCODED_RE = anchored(digestEncoded);
const IDENTIFIER_RE = anchored(identifier);
// A URL scheme such as 'https://', which never belongs in a reference.
const URL_SCHEME_RE = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\//;

/** Maximum length of the full name 'registry/repository'. */
export const NAME_MAX_LENGTH = 255;
/** Maximum length of a tag. */
export const TAG_MAX_LENGTH = 128;

/** Registry name used for Docker Hub in parsed references. */
export const DOCKER_HUB_REGISTRY = 'docker.io';
/** Host that serves the Docker Hub registry API. */
export const DOCKER_HUB_API_HOST = 'registry-1.docker.io';
// Every spelling of Docker Hub that normalizes to 'docker.io'.
const DOCKER_HUB_ALIASES = new Set(['docker.io', 'index.docker.io', 'registry.hub.docker.com', 'registry-1.docker.io']);
// Namespace of Docker Hub's official images.
const OFFICIAL_REPO_PREFIX = 'library/';
const DEFAULT_TAG = 'latest';

// Number of hex digits required by the digest algorithms registered in the OCI image spec.
const DIGEST_HEX_LENGTHS: Readonly<Record<string, number>> = { sha256: 64, sha512: 128 };

// ---------------------------------------------------------------------------
// Public API

/**
 * Parses an image reference such as 'busybox', 'ghcr.io/a/b:1.0' or
 * 'host:5000/a@sha256:…' into its normalized parts. Without tag and digest,
 * tag is set to `opts.defaultTag ?? 'latest'`. Throws InvalidReferenceError.
 */
export function parseReference(input: string, opts?: { defaultTag?: string }): Reference {
  const fail = (reason: string): never => {
    throw new InvalidReferenceError(input, reason);
  };
  checkWhole(input, fail);

  // The digest comes after the first '@'.
  const at = input.indexOf('@');
  const beforeDigest = at === -1 ? input : input.slice(0, at);
  const digest = at === -1 ? undefined : input.slice(at + 1);

  const { registry, remainder } = splitRegistry(beforeDigest, fail);
  // The tag comes after the first ':' of the remainder (the registry's port is already gone).
  const colon = remainder.indexOf(':');
  const path = colon === -1 ? remainder : remainder.slice(0, colon);
  const tagValue = colon === -1 ? undefined : remainder.slice(colon + 1);

  const repository = checkPath(path, registry, colon !== -1 ? ':' : at !== -1 ? '@' : '', fail);
  if (tagValue !== undefined) checkTag(tagValue, fail);
  if (digest !== undefined) checkDigestSyntax(digest, fail);
  checkNameLength(registry, repository, fail);

  const ref: Reference = { registry, repository };
  if (tagValue !== undefined) ref.tag = tagValue;
  if (digest !== undefined) ref.digest = digest;
  if (tagValue === undefined && digest === undefined) {
    const defaultTag = opts?.defaultTag ?? DEFAULT_TAG;
    if (!TAG_RE.test(defaultTag)) fail(`invalid default tag ${quote(defaultTag)}`);
    ref.tag = defaultTag;
  }
  return ref;
}

/** The host that serves a registry's API: 'docker.io' → 'registry-1.docker.io', others unchanged. */
export function registryApiHost(registry: string): string {
  return isDockerHub(registry) ? DOCKER_HUB_API_HOST : registry;
}

/** True for every spelling of Docker Hub ('docker.io', 'index.docker.io', …), any case. */
export function isDockerHub(registry: string): boolean {
  return DOCKER_HUB_ALIASES.has(registry.toLowerCase());
}

/**
 * Normalizes a Docker config.json 'auths' key (or any host or URL) to a
 * registry name comparable with Reference.registry: strips the scheme, user
 * info, path, query and fragment, lower-cases, and maps Docker Hub variants
 * (e.g. 'https://index.docker.io/v1/') to 'docker.io'.
 */
export function normalizeRegistryHost(hostOrUrl: string): string {
  let host = hostOrUrl.trim();
  const scheme = URL_SCHEME_RE.exec(host);
  if (scheme) host = host.slice(scheme[0].length);
  host = host.split(/[/?#]/, 1)[0] ?? '';
  const atSign = host.lastIndexOf('@');
  if (atSign !== -1) host = host.slice(atSign + 1);
  host = host.toLowerCase();
  return DOCKER_HUB_ALIASES.has(host) ? DOCKER_HUB_REGISTRY : host;
}

/** The canonical full form: 'docker.io/library/busybox:1.32', 'host:5000/a/b@sha256:…', 'host/a:tag@sha256:…'. */
export function formatReference(ref: Reference): string {
  let out = `${ref.registry}/${ref.repository}`;
  if (ref.tag !== undefined) out += `:${ref.tag}`;
  if (ref.digest !== undefined) out += `@${ref.digest}`;
  return out;
}

/** 'registry/repository@digest': the reference pinned to a digest, without its tag. */
export function pinnedReference(ref: Reference, digest: string): string {
  const name = `${ref.registry}/${ref.repository}`;
  checkDigestSyntax(digest, (reason) => {
    throw new InvalidReferenceError(`${name}@${digest}`, reason);
  });
  return `${name}@${digest}`;
}

/** Throws InvalidReferenceError unless `digest` is a well-formed digest ('sha256:<64 hex>', …). */
export function validateDigest(digest: string): string {
  checkDigestSyntax(digest, (reason) => {
    throw new InvalidReferenceError(digest, reason);
  });
  return digest;
}

/** Throws InvalidReferenceError unless `tag` is a well-formed tag. */
export function validateTag(tagValue: string): string {
  checkTag(tagValue, (reason) => {
    throw new InvalidReferenceError(tagValue, reason);
  });
  return tagValue;
}

/**
 * Throws InvalidReferenceError unless `repository` is a well-formed repository path without its
 * registry ('library/busybox', 'team/app'): what may go between '/v2/' and '/manifests/'.
 */
export function validateRepositoryPath(repository: string): string {
  const problem = repositoryProblem(repository);
  if (problem !== undefined) throw new InvalidReferenceError(repository, problem);
  return repository;
}

// The same checks answering with the reason instead of throwing, for callers that raise their
// own error (a registry's answer that breaks the grammar is the registry's fault, not the user's).

/** Why `digest` is not a well-formed digest; undefined when it is. */
export function digestProblem(digest: string): string | undefined {
  return reasonOf((fail) => checkDigestSyntax(digest, fail));
}

/** Why `tagValue` is not a well-formed tag; undefined when it is. */
export function tagProblem(tagValue: string): string | undefined {
  return reasonOf((fail) => checkTag(tagValue, fail));
}

/** Why `repository` is not a well-formed repository path (without registry); undefined when it is. */
export function repositoryProblem(repository: string): string | undefined {
  return reasonOf((fail) => {
    if (repository === '') fail('empty repository name');
    checkPath(repository, '', '', fail);
    if (repository.length > NAME_MAX_LENGTH) fail(`repository name longer than ${NAME_MAX_LENGTH} characters (${repository.length})`);
  });
}

/** True for 'localhost', '127.x.y.z' and '[::1]' (any spelling of it), with or without a port. */
export function isLoopbackHost(registry: string): boolean {
  const host = hostWithoutPort(registry.trim()).toLowerCase();
  if (host === 'localhost') return true;
  const ipv4 = /^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host);
  if (ipv4) return ipv4.slice(1).every((octet) => Number(octet) <= 255);
  if (host.startsWith('[') && host.endsWith(']')) return isIpv6Loopback(host.slice(1, -1));
  return false;
}

/** The host part of 'host[:port]'; an IPv6 host keeps its brackets ('[::1]:5000' → '[::1]'). */
export function hostWithoutPort(registry: string): string {
  if (registry.startsWith('[')) {
    const close = registry.indexOf(']');
    return close === -1 ? registry : registry.slice(0, close + 1);
  }
  const colon = registry.indexOf(':');
  return colon === -1 ? registry : registry.slice(0, colon);
}

// ---------------------------------------------------------------------------
// Checks. Each takes a `fail` callback that throws with the reason.

type Fail = (reason: string) => never;

// Checks that apply to the input as a whole, before it is split.
function checkWhole(input: string, fail: Fail): void {
  if (input === '') fail('empty reference');
  const scheme = URL_SCHEME_RE.exec(input);
  if (scheme) fail(`a reference has no URL scheme; remove ${quote(scheme[0])}`);
  if (IDENTIFIER_RE.test(input)) fail('a 64-character hex string is an image id, not a repository name');
}

// Splits off the registry as Docker does (splitDockerDomain): the first
// component is a registry when it contains '.' or ':', or is 'localhost'.
function splitRegistry(name: string, fail: Fail): { registry: string; remainder: string } {
  const slash = name.indexOf('/');
  if (slash === -1) {
    if (name.startsWith('[')) fail(`missing repository path after registry ${quote(name)}`);
    return { registry: DOCKER_HUB_REGISTRY, remainder: name };
  }
  const first = name.slice(0, slash);
  const rest = name.slice(slash + 1);
  const isHost = /[.:]/.test(first) || first.startsWith('[') || first.toLowerCase() === 'localhost';
  if (!isHost) {
    // Docker would take an upper-case first component ('Foo/bar') as a
    // registry host. A dotless host cannot survive lower-casing and
    // formatting ('foo/bar' is Docker Hub), so it is refused instead.
    if (/[A-Z]/.test(first)) fail('repository name must be lowercase');
    return { registry: DOCKER_HUB_REGISTRY, remainder: name };
  }
  return { registry: checkRegistry(first, fail), remainder: rest };
}

// Validates 'host[:port]' and returns it normalized (lower case, Docker Hub aliases → 'docker.io').
function checkRegistry(domain: string, fail: Fail): string {
  let host: string;
  let portValue: string | undefined;
  if (domain.startsWith('[')) {
    const close = domain.indexOf(']');
    if (close === -1) fail(`unclosed "[" in registry ${quote(domain)}`);
    host = domain.slice(0, close + 1);
    const after = domain.slice(close + 1);
    if (after !== '') {
      if (!after.startsWith(':')) fail(`unexpected ${quote(after)} after IPv6 address in registry ${quote(domain)}`);
      portValue = after.slice(1);
    }
    if (!IPV6_ADDRESS_RE.test(host)) {
      fail(`invalid IPv6 address ${quote(host)} in registry (only hex digits and ":", no zone or IPv4 part)`);
    }
  } else {
    const parts = domain.split(':');
    if (parts.length > 2) {
      fail(`too many ":" in registry ${quote(domain)} (an IPv6 address needs brackets, e.g. "[::1]:5000")`);
    }
    host = parts[0] ?? '';
    portValue = parts[1];
    checkHostName(host, domain, fail);
  }
  if (portValue !== undefined) {
    if (portValue === '') fail(`empty port in registry ${quote(domain)}`);
    if (!PORT_RE.test(portValue)) fail(`invalid port ${quote(portValue)} in registry ${quote(domain)}`);
    if (Number(portValue) > 65535) fail(`invalid port ${quote(portValue)} in registry ${quote(domain)}: above 65535`);
  }
  const normalized = domain.toLowerCase();
  return DOCKER_HUB_ALIASES.has(normalized) ? DOCKER_HUB_REGISTRY : normalized;
}

function checkHostName(host: string, domain: string, fail: Fail): void {
  if (DOMAIN_NAME_RE.test(host)) return;
  if (host === '') fail(`empty host in registry ${quote(domain)}`);
  const bad = /[^a-zA-Z0-9.-]/.exec(host);
  if (bad) fail(`invalid character ${quote(bad[0])} in registry host ${quote(host)}`);
  for (const label of host.split('.')) {
    if (label === '') fail(`empty label (leading, trailing or repeated ".") in registry host ${quote(host)}`);
    if (label.startsWith('-') || label.endsWith('-')) {
      fail(`label ${quote(label)} of registry host ${quote(host)} must not start or end with "-"`);
    }
  }
  fail(`invalid registry host ${quote(host)}`);
}

// Validates the repository path and returns it normalized ('library/' added on Docker Hub).
// `followedBy` is the character after the path, for the error on an empty path.
function checkPath(path: string, registry: string, followedBy: string, fail: Fail): string {
  if (path === '') {
    if (followedBy !== '') fail(`missing repository name before ${quote(followedBy)}`);
    fail(`missing repository path after registry ${quote(registry)}`);
  }
  const components = path.split('/');
  components.forEach((component, i) => {
    if (component !== '') return checkPathComponent(component, fail);
    if (i === 0) fail('repository path must not start with "/"');
    if (i === components.length - 1) fail('repository path must not end with "/"');
    fail('empty path component (repeated "/") in repository path');
  });
  if (registry === DOCKER_HUB_REGISTRY && components.length === 1) return OFFICIAL_REPO_PREFIX + path;
  return path;
}

function checkPathComponent(component: string, fail: Fail): void {
  if (PATH_COMPONENT_RE.test(component)) return;
  if (/[A-Z]/.test(component)) fail('repository name must be lowercase');
  const bad = /[^a-z0-9._-]/.exec(component);
  if (bad) fail(`invalid character ${quote(bad[0])} in path component ${quote(component)}`);
  if (/^[._-]|[._-]$/.test(component)) {
    fail(`path component ${quote(component)} must start and end with a letter or digit`);
  }
  const badSeparator = (component.match(/[._-]{2,}/g) ?? []).find((run) => !/^(?:__|-+)$/.test(run));
  if (badSeparator !== undefined) {
    fail(
      `invalid separator ${quote(badSeparator)} in path component ${quote(component)} ` +
        '(allowed between letters and digits: ".", "_", "__" or dashes)',
    );
  }
  fail(`invalid path component ${quote(component)}`);
}

function checkTag(tagValue: string, fail: Fail): void {
  if (TAG_RE.test(tagValue)) return;
  if (tagValue === '') fail('empty tag after ":"');
  const invalid = (detail: string): never => fail(`invalid tag ${quote(tagValue)}: ${detail}`);
  const bad = /[^\w.-]/.exec(tagValue);
  if (bad) invalid(`invalid character ${quote(bad[0])}`);
  if (/^[.-]/.test(tagValue)) invalid('must start with a letter, digit or "_"');
  if (tagValue.length > TAG_MAX_LENGTH) invalid(`longer than ${TAG_MAX_LENGTH} characters (${tagValue.length})`);
  invalid(`does not match ${tag}`);
}

function checkDigestSyntax(digest: string, fail: Fail): void {
  if (digest === '') fail('empty digest after "@"');
  const invalid = (detail: string): never => fail(`invalid digest ${quote(digest)}: ${detail}`);
  const colon = digest.indexOf(':');
  if (colon === -1) invalid('expected "algorithm:encoded", e.g. "sha256:<64 hex digits>"');
  const algorithm = digest.slice(0, colon);
  const encoded = digest.slice(colon + 1);
  if (algorithm === '') invalid('missing algorithm before ":"');
  if (!DIGEST_ALGORITHM_RE.test(algorithm)) invalid(`invalid algorithm ${quote(algorithm)}`);
  if (encoded === '') invalid('missing encoded value after ":"');
  if (!DIGEST_ENCODED_RE.test(encoded)) {
    const bad = /[^a-zA-Z0-9=_-]/.exec(encoded)?.[0] ?? '';
    invalid(`invalid character ${quote(bad)} in encoded value`);
  }
  const lower = algorithm.toLowerCase();
  const hexLength = DIGEST_HEX_LENGTHS[lower];
  if (hexLength === undefined) return;
  if (lower !== algorithm) invalid(`algorithm must be written ${quote(lower)}`);
  const notHex = /[^0-9a-fA-F]/.exec(encoded);
  if (notHex) invalid(`${lower} needs ${hexLength} hex digits; ${quote(notHex[0])} is not a hex digit`);
  if (encoded.length !== hexLength) invalid(`${lower} needs ${hexLength} hex digits, got ${encoded.length}`);
  if (/[A-F]/.test(encoded)) invalid(`${lower} hex digits must be lower-case`);
}

function checkNameLength(registry: string, repository: string, fail: Fail): void {
  const length = registry.length + 1 + repository.length;
  if (length > NAME_MAX_LENGTH) {
    fail(`name longer than ${NAME_MAX_LENGTH} characters (${quote(`${registry}/${repository}`)} has ${length})`);
  }
}

// ---------------------------------------------------------------------------
// Helpers

// True when `address` (without brackets) is an IPv6 spelling of ::1.
function isIpv6Loopback(address: string): boolean {
  if (!/^[0-9a-f:]+$/.test(address)) return false;
  const halves = address.split('::');
  if (halves.length > 2) return false;
  const groupsOf = (s: string): string[] => (s === '' ? [] : s.split(':'));
  const head = groupsOf(halves[0] ?? '');
  const tail = halves.length === 2 ? groupsOf(halves[1] ?? '') : [];
  if ([...head, ...tail].some((g) => !/^[0-9a-f]{1,4}$/.test(g))) return false;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return false;
  const groups = [...head, ...Array<string>(missing).fill('0'), ...tail].map((g) => parseInt(g, 16));
  return groups.every((g, i) => g === (i === 7 ? 1 : 0));
}

// Runs a check and returns the reason it failed with, if it did.
function reasonOf(check: (fail: Fail) => void): string | undefined {
  const failed = { reason: '' };
  try {
    check((reason) => {
      failed.reason = reason;
      throw failed;
    });
    return undefined;
  } catch (error) {
    if (error === failed) return failed.reason;
    throw error;
  }
}

// Quotes a value for an error message; long values are shortened.
function quote(value: string): string {
  const max = 80;
  return JSON.stringify(value.length > max ? `${value.slice(0, max - 3)}...` : value);
}
