/** `GET /images/json?filters=`: dangling, label, before, since, reference (dockerd's image list filters). */
import { invalidArgument } from '../../core/errors.js';
import type { Engine } from '../../engine/engine.js';
import { labelMatches } from './label-filter.js';
import type { ImageRecord } from '../../images/store.js';

const known = new Set(['dangling', 'label', 'before', 'since', 'reference']);

/** `reference`: a glob (`*` within a path component) against `repo` or `repo:tag`. */
function referenceMatches(pattern: string, tag: string): boolean {
  const glob = (p: string): RegExp => new RegExp(`^${p.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*')}$`);
  const repo = tag.slice(0, tag.lastIndexOf(':') > tag.lastIndexOf('/') ? tag.lastIndexOf(':') : tag.length);
  return glob(pattern).test(tag) || glob(pattern).test(repo);
}

function created(image: ImageRecord): number {
  return Date.parse(image.config.created ?? '') || 0;
}

/** Validates the filters once (unknown filter or bad value → 400) and returns the predicate. */
export function imageFilter(engine: Engine, filters: Record<string, string[]>): (image: ImageRecord) => boolean {
  for (const key of Object.keys(filters)) if (!known.has(key)) throw invalidArgument(`invalid filter '${key}'`);
  const danglingValues = filters.dangling ?? [];
  let dangling: boolean | undefined;
  for (const v of danglingValues) {
    const lower = v.toLowerCase();
    if (lower === 'true' || lower === '1') dangling = true;
    else if (lower === 'false' || lower === '0') dangling = false;
    else throw invalidArgument(`invalid filter 'dangling=${v}'`);
  }
  const references = filters.reference ?? [];
  const labels = filters.label ?? [];
  // `before`/`since` name an image; the bound is its creation time.
  const bound = (key: 'before' | 'since'): number | undefined => {
    const values = filters[key] ?? [];
    if (values.length === 0) return undefined;
    return Math.min(...values.map((v) => created(engine.resolveImage(v))));
  };
  const before = bound('before');
  const since = filters.since?.length ? Math.max(...filters.since.map((v) => created(engine.resolveImage(v)))) : undefined;
  return (image) => {
    const tags = engine.repoTags(image);
    if (dangling !== undefined && (tags.length === 0) !== dangling) return false;
    if (references.length > 0 && !tags.some((tag) => references.some((pattern) => referenceMatches(pattern, tag)))) return false;
    const imageLabels = image.config.config?.Labels ?? {};
    if (!labels.every((l) => labelMatches(imageLabels, l))) return false;
    if (before !== undefined && !(created(image) < before)) return false;
    if (since !== undefined && !(created(image) > since)) return false;
    return true;
  };
}
