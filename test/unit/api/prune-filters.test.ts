import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { pruneFilter } from '../../../src/api/docker/prune-filters.js';
import { isBerthError } from '../../../src/core/errors.js';

const ACCEPTED = ['until', 'label', 'label!'];
const at = (iso: string): number => Date.parse(iso);

describe('prune filters (moby daemon/prune.go)', () => {
  it('keeps what was created after until', () => {
    const f = pruneFilter({ until: ['2026-01-02T00:00:00Z'] }, ACCEPTED);
    assert.equal(f.selects(at('2026-01-01T00:00:00Z'), {}), true);
    assert.equal(f.selects(at('2026-01-02T00:00:00Z'), {}), true);
    assert.equal(f.selects(at('2026-01-03T00:00:00Z'), {}), false);
    const unix = pruneFilter({ until: [String(at('2026-01-02T00:00:00Z') / 1000)] }, ACCEPTED);
    assert.equal(unix.selects(at('2026-01-03T00:00:00Z'), {}), false);
    const ago = pruneFilter({ until: ['1h'] }, ACCEPTED);
    assert.equal(ago.selects(Date.now() - 7_200_000, {}), true);
    assert.equal(ago.selects(Date.now(), {}), false);
  });

  it('needs every label; label! keeps only what matches all of them', () => {
    const f = pruneFilter({ label: ['tier', 'env=test'] }, ACCEPTED);
    assert.equal(f.selects(0, { tier: 'web', env: 'test' }), true);
    assert.equal(f.selects(0, { tier: 'web', env: 'prod' }), false);
    assert.equal(f.selects(0, { env: 'test' }), false);
    const not = pruneFilter({ 'label!': ['keep', 'env=prod'] }, ACCEPTED);
    assert.equal(not.selects(0, { keep: '', env: 'prod' }), false);
    assert.equal(not.selects(0, { keep: '' }), true);
    assert.equal(not.selects(0, {}), true);
  });

  it('refuses unknown keys, two untils and an unreadable time with invalid-argument', () => {
    const bad: Array<Record<string, string[]>> = [{ colour: ['red'] }, { until: ['1h', '2h'] }, { until: ['soon'] }];
    for (const filters of bad) {
      assert.throws(() => pruneFilter(filters, ACCEPTED), (err: unknown) => isBerthError(err, 'invalid-argument'));
    }
    assert.throws(() => pruneFilter({ dangling: ['true'] }, ACCEPTED), /invalid filter 'dangling'/);
  });
});
