/**
 * The image store: image records (ID = config digest, as Docker does) and the names
 * pointing at them. Backed by the engine's SQLite database, handed in by the caller.
 */
import type Database from 'better-sqlite3';
import { StatementCache } from '../core/sql-statements.js';
import type { Digest } from '../core/digest.js';
import { conflict, notFound } from '../core/errors.js';
import type { Descriptor, ImageConfig } from '../oci/image.js';

export interface ImageRecord {
  id: Digest;
  /** The manifest this image was unpacked from. */
  manifestDigest: Digest;
  manifestMediaType: string;
  config: ImageConfig;
  layers: Descriptor[];
  chainIds: Digest[];
  /** Sum of the uncompressed layer sizes, Docker's `Size`. */
  size: number;
  /** `repo@digest` of every registry manifest (or index) this image was pulled as. */
  repoDigests: string[];
  /** When berth stored it (ms since epoch). */
  addedAt: number;
}

interface ImageRow {
  id: string;
  record: string;
}

export class ImageStore {
  private readonly statements: StatementCache;

  constructor(private readonly db: Database.Database) {
    this.statements = new StatementCache(db);
    db.exec(`
      CREATE TABLE IF NOT EXISTS images (id TEXT PRIMARY KEY, record TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS image_names (name TEXT PRIMARY KEY, image_id TEXT NOT NULL REFERENCES images(id));
      CREATE INDEX IF NOT EXISTS image_names_by_id ON image_names(image_id);
    `);
  }

  /** Stores the image (merging repo digests with an existing record) and points `names` at it. */
  put(record: ImageRecord, names: string[]): void {
    const tx = this.db.transaction(() => {
      const existing = this.find(record.id);
      const merged: ImageRecord = existing
        ? { ...existing, repoDigests: [...new Set([...existing.repoDigests, ...record.repoDigests])] }
        : record;
      this.statements.get('INSERT OR REPLACE INTO images (id, record) VALUES (?, ?)').run(record.id, JSON.stringify(merged));
      for (const name of names) this.statements.get('INSERT OR REPLACE INTO image_names (name, image_id) VALUES (?, ?)').run(name, record.id);
    });
    tx();
  }

  find(id: string): ImageRecord | undefined {
    const row = this.statements.get('SELECT id, record FROM images WHERE id = ?').get(id) as ImageRow | undefined;
    return row ? (JSON.parse(row.record) as ImageRecord) : undefined;
  }

  get(id: string): ImageRecord {
    const found = this.find(id);
    if (!found) throw notFound(`No such image: ${id}`);
    return found;
  }

  idForName(name: string): Digest | undefined {
    const row = this.statements.get('SELECT image_id FROM image_names WHERE name = ?').get(name) as { image_id: Digest } | undefined;
    return row?.image_id;
  }

  /** Full or unique-prefix ID match (with or without `sha256:`). */
  idForPrefix(prefix: string): Digest | undefined {
    const hex = prefix.startsWith('sha256:') ? prefix.slice(7) : prefix;
    if (!/^[a-f0-9]{1,64}$/.test(hex)) return undefined;
    const rows = this.statements.get('SELECT id FROM images WHERE id LIKE ?').all(`sha256:${hex}%`) as { id: Digest }[];
    if (rows.length > 1) throw conflict(`image ID prefix ${prefix} is ambiguous`);
    return rows[0]?.id;
  }

  namesFor(id: string): string[] {
    return (this.statements.get('SELECT name FROM image_names WHERE image_id = ? ORDER BY name').all(id) as { name: string }[]).map((r) => r.name);
  }

  tag(id: Digest, name: string): void {
    this.get(id);
    this.statements.get('INSERT OR REPLACE INTO image_names (name, image_id) VALUES (?, ?)').run(name, id);
  }

  untag(name: string): boolean {
    return this.statements.get('DELETE FROM image_names WHERE name = ?').run(name).changes > 0;
  }

  delete(id: string): void {
    const tx = this.db.transaction(() => {
      this.statements.get('DELETE FROM image_names WHERE image_id = ?').run(id);
      this.statements.get('DELETE FROM images WHERE id = ?').run(id);
    });
    tx();
  }

  list(): ImageRecord[] {
    return (this.statements.get('SELECT id, record FROM images').all() as ImageRow[]).map((r) => JSON.parse(r.record) as ImageRecord);
  }

  /** Every chainID some image still needs, for snapshot garbage collection. */
  referencedChainIds(): Set<string> {
    const set = new Set<string>();
    for (const image of this.list()) for (const c of image.chainIds) set.add(c);
    return set;
  }
}
