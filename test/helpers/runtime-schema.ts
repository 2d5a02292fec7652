/** A validator for OCI runtime config.json documents, from the runtime-spec schemas in ../shared/reference. */
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Ajv, type ValidateFunction } from 'ajv';

const repoRoot = resolve(new URL('../../..', import.meta.url).pathname);
const REFERENCE = process.env['BERTH_REFERENCE_DIR'] ?? join(repoRoot, '../shared/reference');
const SCHEMA_DIR = join(REFERENCE, 'oci-runtime-spec');
const SCHEMA_BASE = 'https://berth.invalid/oci-runtime-spec/';

/**
 * The runtime-spec schemas are draft-04 (`$schema` draft-04, no `id`s, no draft-04-only keywords
 * such as boolean exclusiveMinimum). Ajv 8 has no draft-04 meta-schema without ajv-draft-04, so
 * each file is loaded with its `$schema` dropped and its file name as `$id`; the relative
 * `defs.json#/…` references then resolve against that base.
 */
export function loadRuntimeSpecValidator(): ValidateFunction {
  const ajv = new Ajv({ strict: false, allErrors: true });
  for (const file of readdirSync(SCHEMA_DIR).filter((f) => f.endsWith('.json'))) {
    const schema = JSON.parse(readFileSync(join(SCHEMA_DIR, file), 'utf8')) as Record<string, unknown>;
    delete schema['$schema'];
    schema['$id'] = SCHEMA_BASE + file;
    ajv.addSchema(schema);
  }
  const validate = ajv.getSchema(SCHEMA_BASE + 'config-schema.json');
  if (!validate) throw new Error(`config-schema.json not found in ${SCHEMA_DIR}`);
  return validate;
}
