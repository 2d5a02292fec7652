/**
 * Docker image references, parsed and normalised exactly as github.com/distribution/reference
 * does (regexp.go, reference.go, normalize.go: ParseNormalizedNamed + TagNameOnly):
 *
 *   reference   := name [ ":" tag ] [ "@" digest ]
 *   name        := [domain '/'] remote-name
 *   domain      := host [':' port]       host := domain-name | IPv4 | '[' IPv6 ']'
 *   remote-name := path-component ['/' path-component]*
 *   path-component := [a-z0-9]+ ((\.|_|__|-+)[a-z0-9]+)*
 *   tag         := [\w][\w.-]{0,127}
 *
 * Normalisation: a first component is a domain only if it contains '.' or ':', is "localhost",
 * or has upper-case letters; otherwise the domain is docker.io, and single-component Docker Hub
 * names get "library/". "index.docker.io" is canonicalised to "docker.io". With neither tag nor
 * digest the tag "latest" is added. Errors are BerthError 'invalid-argument' with Docker's wording.
 */
import { invalidArgument } from '../core/errors.js';
import { type Digest } from '../core/digest.js';

export const DEFAULT_DOMAIN = 'docker.io';
export const LEGACY_DEFAULT_DOMAIN = 'index.docker.io';
export const DOCKER_HUB_API_HOST = 'registry-1.docker.io';
export const OFFICIAL_REPO_PREFIX = 'library/';
export const DEFAULT_TAG = 'latest';
export const REPOSITORY_NAME_TOTAL_LENGTH_MAX = 255;

export interface ImageReference {
  /** Registry domain as written (after docker.io normalisation), e.g. "docker.io", "localhost:5000", "[::1]:5000". */
  domain: string;
  /** Repository path on the registry, e.g. "library/busybox". */
  path: string;
  /** The tag; "latest" when the input had neither tag nor digest. Absent for digest-only references. */
  tag?: string;
  digest?: Digest;
  /** domain + "/" + path, e.g. "docker.io/library/busybox". */
  name: string;
  /** Short form as the Docker UI shows it, e.g. "busybox:latest", "127.0.0.1:5000/x@sha256:…". */
  familiar: string;
  /** Fully qualified form, e.g. "docker.io/library/busybox:latest" (name[:tag][@digest]). */
  canonical: string;
}

// --- grammar (regexp.go) -----------------------------------------------------------------------
const alphanumeric = '[a-z0-9]+';
const separator = '(?:[._]|__|[-]+)';
const domainNameComponent = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const optionalPort = '(?::[0-9]+)?';
const tagPat = '[\\w][\\w.-]{0,127}';
const digestPat = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*[:][0-9a-fA-F]{32,}';
const ipv6address = '\\[(?:[a-fA-F0-9:]+)\\]';
const domainName = `${domainNameComponent}(?:\\.${domainNameComponent})*`;
const host = `(?:${domainName}|${ipv6address})`;
const domainAndPort = host + optionalPort;
const pathComponent = `${alphanumeric}(?:${separator}${alphanumeric})*`;
const remoteName = `${pathComponent}(?:/${pathComponent})*`;
const namePat = `(?:${domainAndPort}/)?${remoteName}`;

const referenceRegexp = new RegExp(`^(${namePat})(?::(${tagPat}))?(?:@(${digestPat}))?$`);
const anchoredNameRegexp = new RegExp(`^(?:(${domainAndPort})/)?(${remoteName})$`);
const anchoredTagRegexp = new RegExp(`^${tagPat}$`);
const anchoredIdentifierRegexp = /^[a-f0-9]{64}$/;

// Registered digest algorithms (go-digest): encoded length and format.
const digestAlgorithms: Record<string, number> = { sha256: 64, sha384: 96, sha512: 128 };

export function isValidTag(tag: string): boolean {
  return anchoredTagRegexp.test(tag);
}

/** Parses a familiar or fully-qualified reference (ParseNormalizedNamed) and adds the default tag. */
export function parseReference(input: string): ImageReference {
  if (anchoredIdentifierRegexp.test(input)) {
    throw invalidArgument(`invalid repository name (${input}), cannot specify 64-byte hexadecimal strings`);
  }
  const [domainGuess, remainder] = splitDockerDomain(input);
  const tagSep = remainder.indexOf(':');
  const remote = tagSep > -1 ? remainder.slice(0, tagSep) : remainder;
  if (remote.toLowerCase() !== remote) {
    throw invalidArgument(`invalid reference format: repository name (${remote}) must be lowercase`);
  }
  const parsed = parseStrict(`${domainGuess}/${remainder}`);
  const tag = parsed.tag ?? (parsed.digest === undefined ? DEFAULT_TAG : undefined);
  return buildReference(parsed.domain, parsed.path, tag, parsed.digest);
}

/** Like parseReference but returns undefined instead of throwing. */
export function tryParseReference(input: string): ImageReference | undefined {
  try {
    return parseReference(input);
  } catch {
    return undefined;
  }
}

/** The reference pinned to `digest` (tag kept, as Docker's `name:tag@digest` form). */
export function withDigest(ref: ImageReference, digest: Digest): ImageReference {
  return buildReference(ref.domain, ref.path, ref.tag, digest);
}

/** The reference with `tag` (digest dropped). */
export function withTag(ref: ImageReference, tag: string): ImageReference {
  if (!isValidTag(tag)) throw invalidArgument('invalid tag format');
  return buildReference(ref.domain, ref.path, tag, undefined);
}

/** Repository name as the Docker UI shows it: "docker.io/library/busybox" → "busybox", "docker.io/a/b" → "a/b". */
export function familiarName(ref: ImageReference | string): string {
  const r = typeof ref === 'string' ? parseReference(ref) : ref;
  return familiarizeName(r.domain, r.path);
}

/** Host (and port) serving the registry API for a reference domain: docker.io → registry-1.docker.io. */
export function registryApiHost(domain: string): string {
  return domain === DEFAULT_DOMAIN || domain === LEGACY_DEFAULT_DOMAIN ? DOCKER_HUB_API_HOST : domain;
}

/** Key of a registry in ~/.docker/config.json `auths` and for credential helpers. */
export function credentialServerAddress(domain: string): string {
  return domain === DEFAULT_DOMAIN || domain === LEGACY_DEFAULT_DOMAIN || domain === DOCKER_HUB_API_HOST
    ? 'https://index.docker.io/v1/'
    : domain;
}

/** Domain normalisation for user input such as `berth login index.docker.io` or `https://host:5000/v1/`. */
export function normalizeRegistryDomain(input: string): string {
  let value = input.trim();
  value = value.replace(/^https?:\/\//, '');
  const slash = value.indexOf('/');
  if (slash >= 0) value = value.slice(0, slash);
  if (value === LEGACY_DEFAULT_DOMAIN || value === DOCKER_HUB_API_HOST || value === '') return DEFAULT_DOMAIN;
  return value;
}

// -----------------------------------------------------------------------------------------------

interface StrictParse {
  domain: string;
  path: string;
  tag?: string;
  digest?: Digest;
}

/** reference.Parse on an already-normalised string. */
function parseStrict(s: string): StrictParse {
  if (s === '') throw invalidArgument('repository name must have at least one component');
  const m = referenceRegexp.exec(s);
  if (!m) {
    const lower = s.toLowerCase();
    if (lower !== s && referenceRegexp.test(lower)) throw invalidArgument('repository name must be lowercase');
    throw invalidArgument('invalid reference format');
  }
  const name = m[1] ?? '';
  const nameMatch = anchoredNameRegexp.exec(name);
  const domain = nameMatch?.[1] ?? '';
  const path = nameMatch?.[2] ?? name;
  if (path.length > REPOSITORY_NAME_TOTAL_LENGTH_MAX) {
    throw invalidArgument(`repository name must not be more than ${REPOSITORY_NAME_TOTAL_LENGTH_MAX} characters`);
  }
  const out: StrictParse = { domain, path };
  if (m[2] !== undefined && m[2] !== '') out.tag = m[2];
  if (m[3] !== undefined && m[3] !== '') out.digest = parseReferenceDigest(m[3]);
  return out;
}

/** go-digest's Parse/Validate, restricted to what berth can verify (sha256, sha512). */
function parseReferenceDigest(value: string): Digest {
  const colon = value.indexOf(':');
  const algorithm = value.slice(0, colon);
  const encoded = value.slice(colon + 1);
  const length = digestAlgorithms[algorithm];
  if (length === undefined) throw invalidArgument('unsupported digest algorithm');
  if (encoded.length !== length) throw invalidArgument('invalid checksum digest length');
  if (!/^[a-f0-9]+$/.test(encoded)) throw invalidArgument('invalid checksum digest format');
  if (algorithm === 'sha384') throw invalidArgument('unsupported digest algorithm');
  return value as Digest;
}

/** normalize.go splitDockerDomain. */
function splitDockerDomain(name: string): [string, string] {
  const slash = name.indexOf('/');
  if (slash < 0) return [DEFAULT_DOMAIN, OFFICIAL_REPO_PREFIX + name];
  const maybeDomain = name.slice(0, slash);
  const maybeRemote = name.slice(slash + 1);
  let domain: string;
  let remote: string;
  if (maybeDomain === 'localhost') {
    [domain, remote] = [maybeDomain, maybeRemote];
  } else if (maybeDomain === LEGACY_DEFAULT_DOMAIN) {
    [domain, remote] = [DEFAULT_DOMAIN, maybeRemote];
  } else if (/[.:]/.test(maybeDomain)) {
    [domain, remote] = [maybeDomain, maybeRemote];
  } else if (maybeDomain.toLowerCase() !== maybeDomain) {
    [domain, remote] = [maybeDomain, maybeRemote];
  } else {
    [domain, remote] = [DEFAULT_DOMAIN, name];
  }
  if (domain === DEFAULT_DOMAIN && !remote.includes('/')) remote = OFFICIAL_REPO_PREFIX + remote;
  return [domain, remote];
}

function familiarizeName(domain: string, path: string): string {
  if (domain !== DEFAULT_DOMAIN) return domain === '' ? path : `${domain}/${path}`;
  if (path.startsWith(OFFICIAL_REPO_PREFIX)) {
    const rest = path.slice(OFFICIAL_REPO_PREFIX.length);
    if (!rest.includes('/')) return rest;
  }
  return path;
}

function buildReference(domain: string, path: string, tag: string | undefined, digest: Digest | undefined): ImageReference {
  const suffix = (tag !== undefined ? `:${tag}` : '') + (digest !== undefined ? `@${digest}` : '');
  const name = domain === '' ? path : `${domain}/${path}`;
  const ref: ImageReference = {
    domain,
    path,
    name,
    familiar: familiarizeName(domain, path) + suffix,
    canonical: name + suffix,
  };
  if (tag !== undefined) ref.tag = tag;
  if (digest !== undefined) ref.digest = digest;
  return ref;
}
