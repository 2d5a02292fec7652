/**
 * Platform normalisation and matching as containerd does it (github.com/containerd/platforms:
 * database.go normalizeArch, compare.go platformVector/Only): a wanted platform expands to an
 * ordered vector of acceptable platforms (amd64/v3 → v2 → v1 → 386; arm/v7 → v6 → v5;
 * arm64 → arm/v8 → … ; arm64/v9.x → v9.{x-1..0} → v8.{x+5..0} → arm/v8 …). Index entries are
 * normalised before comparing; the best-ranked vector entry wins, and among entries of equal
 * rank the first in the index ("first match wins", image-index.md).
 */
import { notFound } from '../core/errors.js';
import type { Descriptor, ImageIndex, Platform } from '../oci/image.js';

/** normalizeArch + normalizeOS. Returns a new object; OS features / version are kept. */
export function normalizePlatform(platform: Platform): Platform {
  let os = (platform.os || 'linux').toLowerCase();
  if (os === 'macos') os = 'darwin';
  let arch = (platform.architecture ?? '').toLowerCase();
  let variant = (platform.variant ?? '').toLowerCase();
  switch (arch) {
    case 'i386':
      arch = '386';
      variant = '';
      break;
    case 'x86_64':
    case 'x86-64':
    case 'amd64':
      arch = 'amd64';
      if (variant === 'v1') variant = '';
      break;
    case 'aarch64':
    case 'arm64':
      arch = 'arm64';
      if (variant === '8' || variant === 'v8') variant = '';
      break;
    case 'armhf':
      arch = 'arm';
      variant = 'v7';
      break;
    case 'armel':
      arch = 'arm';
      variant = 'v6';
      break;
    case 'arm':
      if (variant === '' || variant === '7') variant = 'v7';
      else if (variant === '5' || variant === '6' || variant === '8') variant = `v${variant}`;
      break;
    default:
      break;
  }
  const out: Platform = { os, architecture: arch };
  if (variant !== '') out.variant = variant;
  if (platform['os.version'] !== undefined) out['os.version'] = platform['os.version'];
  if (platform['os.features'] !== undefined) out['os.features'] = platform['os.features'];
  return out;
}

/** "linux/arm64/v8"-style text (containerd's FormatAll-ish; variant omitted when empty). */
export function formatPlatform(platform: Platform): string {
  return [platform.os, platform.architecture, platform.variant].filter((p) => p !== undefined && p !== '').join('/');
}

/** Parses "linux/amd64", "linux/arm/v7", "arm64" (os defaults to linux). */
export function parsePlatform(text: string): Platform {
  const parts = text.split('/');
  if (parts.length === 1) return normalizePlatform({ os: 'linux', architecture: parts[0] ?? '' });
  const [os = 'linux', architecture = '', variant] = parts;
  const p: Platform = { os, architecture };
  if (variant) p.variant = variant;
  return normalizePlatform(p);
}

/** The host platform: linux + process.arch mapped to OCI names (x64 → amd64, ia32 → 386, arm → arm/v<N>). */
export function hostPlatform(): Platform {
  const map: Record<string, string> = {
    x64: 'amd64',
    ia32: '386',
    arm64: 'arm64',
    arm: 'arm',
    ppc64: 'ppc64le',
    s390x: 's390x',
    riscv64: 'riscv64',
    loong64: 'loong64',
    mips: 'mips',
    mipsel: 'mipsle',
  };
  const architecture = map[process.arch] ?? process.arch;
  const platform: Platform = { os: 'linux', architecture };
  if (architecture === 'arm') {
    const variables = (process.config as { variables?: Record<string, unknown> }).variables ?? {};
    const v = variables.arm_version;
    if (typeof v === 'string' || typeof v === 'number') platform.variant = `v${v}`;
  }
  return normalizePlatform(platform);
}

/** containerd platformVector on an already normalised platform. */
export function platformVector(platform: Platform): Platform[] {
  const vector: Platform[] = [platform];
  const base = (architecture: string, variant?: string): Platform => {
    const p: Platform = { os: platform.os, architecture };
    if (variant) p.variant = variant;
    if (platform['os.version'] !== undefined) p['os.version'] = platform['os.version'];
    return p;
  };
  const variant = platform.variant ?? '';
  switch (platform.architecture) {
    case 'amd64': {
      const level = Number.parseInt(variant.replace(/^v/, ''), 10);
      if (/^v?\d+$/.test(variant) && level > 1) {
        for (let v = level - 1; v >= 1; v--) vector.push(base('amd64', `v${v}`));
      }
      vector.push(base('386'));
      break;
    }
    case 'arm': {
      const level = Number.parseInt(variant.replace(/^v/, ''), 10);
      if (/^v?\d+$/.test(variant) && level > 5) {
        for (let v = level - 1; v >= 5; v--) vector.push(base('arm', `v${v}`));
      }
      break;
    }
    case 'arm64': {
      let v = variant === '' ? 'v8' : variant;
      const [majorText = '', minorText] = v.split('.', 2);
      let major = Number.parseInt(majorText.replace(/^v/, ''), 10);
      if (/^v?\d+$/.test(majorText) && major >= 8) {
        let minor = 0;
        if (v.length === 4 && minorText !== undefined && /^\d+$/.test(minorText)) minor = Number(minorText);
        if (major === 9) {
          for (let m = minor - 1; m >= 0; m--) vector.push(base('arm64', m === 0 ? 'v9' : `v9.${m}`));
          minor += 5;
          major = 8;
          vector.push(base('arm64', `v8.${minor}`));
        }
        for (let m = minor - 1; m >= 0; m--) vector.push(base('arm64', m === 0 ? `v${major}` : `v${major}.${m}`));
      }
      if (v.startsWith('v8.') || v.startsWith('v9.')) v = 'v8';
      vector.push(...platformVector(base('arm', v)));
      break;
    }
    default:
      break;
  }
  return vector;
}

function samePlatform(want: Platform, have: Platform): boolean {
  const a = normalizePlatform(want);
  const b = normalizePlatform(have);
  if (a.os !== b.os || a.architecture !== b.architecture || (a.variant ?? '') !== (b.variant ?? '')) return false;
  // containerd only compares os.version on Windows.
  if (a.os === 'windows' && a['os.version'] && b['os.version'] && a['os.version'] !== b['os.version']) return false;
  return true;
}

/** Rank of `candidate` for `wanted` (0 best), or -1 if it does not match. */
export function platformRank(wanted: Platform, candidate: Platform): number {
  const vector = platformVector(normalizePlatform(wanted));
  return vector.findIndex((p) => samePlatform(p, candidate));
}

export function platformMatches(wanted: Platform, candidate: Platform): boolean {
  return platformRank(wanted, candidate) >= 0;
}

/**
 * Picks the manifest for `platform` (default: the host) from an index. Entries without a
 * platform match with the lowest priority (containerd images.Manifest). Throws 'not-found'
 * "no matching manifest for linux/arm64 in the manifest list entries" (Docker's wording).
 */
export function selectPlatformManifest(index: ImageIndex, platform?: Platform): Descriptor {
  const wanted = normalizePlatform(platform ?? hostPlatform());
  const vector = platformVector(wanted);
  let best: Descriptor | undefined;
  let bestRank = Number.POSITIVE_INFINITY;
  for (const entry of index.manifests ?? []) {
    const rank = entry.platform ? vector.findIndex((p) => samePlatform(p, entry.platform as Platform)) : vector.length;
    if (rank < 0) continue;
    if (rank < bestRank) {
      best = entry;
      bestRank = rank;
    }
  }
  if (!best) throw notFound(`no matching manifest for ${formatPlatform(wanted)} in the manifest list entries`);
  return best;
}
