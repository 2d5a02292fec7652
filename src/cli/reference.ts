/**
 * The little of distribution/reference the CLI needs on its own side (as the docker CLI does):
 * normalising a user's image name to build /images/create's fromImage+tag, to find the registry
 * whose credentials go into X-Registry-Auth, and to print "Unable to find image 'x:latest'".
 * The daemon does its own full parsing; this stays small and dependency-free for startup time.
 */
const DEFAULT_DOMAIN = 'docker.io';
const LEGACY_DEFAULT_DOMAIN = 'index.docker.io';
/** The key Docker uses for Docker Hub credentials in config.json. */
export const INDEX_SERVER = 'https://index.docker.io/v1/';

const pathComponent = '[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*';
const domainComponent = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const domainRe = `(?:${domainComponent}(?:\\.${domainComponent})*|\\[[a-fA-F0-9:]+\\])(?::[0-9]+)?`;
const tagRe = '[\\w][\\w.-]{0,127}';
const digestRe = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}';
const REFERENCE = new RegExp(
  `^((?:${domainRe}/)?${pathComponent}(?:/${pathComponent})*)(?::(${tagRe}))?(?:@(${digestRe}))?$`,
);
const IMAGE_ID = /^(?:sha256:)?[a-f0-9]{64}$/;

export interface NamedReference {
  domain: string;
  /** Repository path, e.g. "library/busybox". */
  path: string;
  tag?: string;
  digest?: string;
}

export class ReferenceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ReferenceError';
  }
}

function splitDomain(name: string): { domain: string; path: string } {
  const i = name.indexOf('/');
  let domain: string;
  let path: string;
  const first = i === -1 ? '' : name.slice(0, i);
  if (i === -1 || (!/[.:]/.test(first) && first !== 'localhost' && first.toLowerCase() === first)) {
    domain = DEFAULT_DOMAIN;
    path = name;
  } else {
    domain = first;
    path = name.slice(i + 1);
  }
  if (domain === LEGACY_DEFAULT_DOMAIN) domain = DEFAULT_DOMAIN;
  if (domain === DEFAULT_DOMAIN && !path.includes('/')) path = `library/${path}`;
  return { domain, path };
}

/** Whether the string is a full image ID (ParseAnyReference treats 64 hex digits as a digest). */
export function isImageId(s: string): boolean {
  return IMAGE_ID.test(s);
}

/** reference.ParseNormalizedNamed. Throws ReferenceError with Docker's wording. */
export function parseNormalizedNamed(input: string): NamedReference {
  if (isImageId(input) && !input.startsWith('sha256:')) {
    throw new ReferenceError(
      `invalid repository name (${input}), cannot specify 64-byte hexadecimal strings`,
    );
  }
  const { domain, path: rest } = splitDomain(input);
  const tagSep = rest.indexOf(':');
  const remote = tagSep > -1 ? rest.slice(0, tagSep) : rest;
  if (remote.toLowerCase() !== remote) {
    throw new ReferenceError(`invalid reference format: repository name (${remote}) must be lowercase`);
  }
  const full = `${domain}/${rest}`;
  const m = REFERENCE.exec(full);
  if (!m) throw new ReferenceError('invalid reference format');
  const name = m[1] ?? full;
  const ref: NamedReference = { domain, path: name.slice(domain.length + 1) };
  if (m[2] !== undefined) ref.tag = m[2];
  if (m[3] !== undefined) ref.digest = m[3];
  if (name.length > 255) throw new ReferenceError('repository name must not be more than 255 characters');
  return ref;
}

/** reference.TagNameOnly: adds ":latest" when there is neither tag nor digest. */
export function tagNameOnly(ref: NamedReference): NamedReference {
  return ref.tag === undefined && ref.digest === undefined ? { ...ref, tag: 'latest' } : ref;
}

export function isNameOnly(ref: NamedReference): boolean {
  return ref.tag === undefined && ref.digest === undefined;
}

/** ref.Name(): "docker.io/library/busybox". */
export function fullName(ref: NamedReference): string {
  return `${ref.domain}/${ref.path}`;
}

/** reference.FamiliarName: "busybox", "user/app", "127.0.0.1:5000/x". */
export function familiarName(ref: NamedReference): string {
  if (ref.domain === DEFAULT_DOMAIN) {
    return ref.path.startsWith('library/') && ref.path.split('/').length === 2 ? ref.path.slice(8) : ref.path;
  }
  return `${ref.domain}/${ref.path}`;
}

function suffix(ref: NamedReference): string {
  return (ref.tag !== undefined ? `:${ref.tag}` : '') + (ref.digest !== undefined ? `@${ref.digest}` : '');
}

/** reference.FamiliarString: "busybox:latest". */
export function familiarString(ref: NamedReference): string {
  return familiarName(ref) + suffix(ref);
}

/** ref.String(): "docker.io/library/busybox:latest". */
export function canonicalString(ref: NamedReference): string {
  return fullName(ref) + suffix(ref);
}

/** The tag query parameter of /images/create: the digest if any, else the tag (default latest). */
export function apiTag(ref: NamedReference): string {
  return ref.digest ?? ref.tag ?? 'latest';
}

/** registry.GetAuthConfigKey: the config.json key whose credentials serve this reference. */
export function authConfigKey(ref: NamedReference): string {
  return ref.domain === DEFAULT_DOMAIN ? INDEX_SERVER : ref.domain;
}
