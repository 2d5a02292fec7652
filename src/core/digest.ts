import { createHash, type Hash } from 'node:crypto';
import { invalidArgument } from './errors.js';

/** A digest string `algorithm:hex`; only sha256 and sha512 are accepted (OCI registered algorithms). */
export type Digest = `sha256:${string}` | `sha512:${string}`;

const digestPattern = /^(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$/;

export function isDigest(value: string): value is Digest {
  return digestPattern.test(value);
}

export function parseDigest(value: string): Digest {
  if (!isDigest(value)) throw invalidArgument(`invalid digest "${value}": expected sha256:<64 hex> or sha512:<128 hex>`);
  return value;
}

export function digestAlgorithm(digest: Digest): 'sha256' | 'sha512' {
  return digest.startsWith('sha512:') ? 'sha512' : 'sha256';
}

export function digestHex(digest: Digest): string {
  return digest.slice(digest.indexOf(':') + 1);
}

export function sha256(data: string | Uint8Array): Digest {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

export function newHasher(algorithm: 'sha256' | 'sha512' = 'sha256'): Hash {
  return createHash(algorithm);
}

/** chain(L1) = diffID(L1); chain(Ln) = sha256(chain(Ln-1) + " " + diffID(Ln)) — image-spec config.md. */
export function chainIds(diffIds: readonly Digest[]): Digest[] {
  const chains: Digest[] = [];
  for (const diffId of diffIds) {
    const parent = chains[chains.length - 1];
    chains.push(parent === undefined ? diffId : sha256(`${parent} ${diffId}`));
  }
  return chains;
}
