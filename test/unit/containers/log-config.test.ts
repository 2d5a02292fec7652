import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkLogConfig, mergeLogConfig } from '../../../src/containers/log-config.js';
import { BerthError } from '../../../src/core/errors.js';

const refused = (fn: () => unknown, code: string, message: string): void =>
  assert.throws(fn, (err: unknown) => err instanceof BerthError && err.code === code && err.message === message);

test('max-size becomes the byte limit conmon enforces; max-file 1 and compress=false are what berth does anyway', () => {
  assert.deepEqual(checkLogConfig({}), {});
  assert.deepEqual(checkLogConfig({ 'max-size': '10m' }), { maxSize: 10_000_000 });
  assert.deepEqual(checkLogConfig({ 'max-size': '1k', 'max-file': '1', compress: 'false' }), { maxSize: 1000 });
});

test("bad options are refused with moby's texts; options conmon cannot carry out are refused as not implemented", () => {
  refused(() => checkLogConfig({ 'max-size': '0' }), 'invalid-argument', 'max-size must be a positive number');
  refused(() => checkLogConfig({ 'max-size': 'big' }), 'invalid-argument', "invalid size: 'big'");
  refused(() => checkLogConfig({ 'max-file': '0' }), 'invalid-argument', 'max-file cannot be less than 1');
  refused(() => checkLogConfig({ 'max-file': 'x' }), 'invalid-argument', 'strconv.Atoi: parsing "x": invalid syntax');
  refused(() => checkLogConfig({ compress: 'yes' }), 'invalid-argument', 'strconv.ParseBool: parsing "yes": invalid syntax');
  refused(() => checkLogConfig({ compress: 'true', 'max-size': '1m' }), 'invalid-argument', 'compress cannot be true when max-file is less than 2 or max-size is not set');
  refused(() => checkLogConfig({ mode: 'non-blocking' }), 'invalid-argument', "unknown log opt 'mode' for json-file log driver");
  refused(() => checkLogConfig({ 'max-size': '1m', 'max-file': '3', labels: 'a' }), 'not-implemented', 'not supported by berth yet: log-opt labels, max-file above 1 (conmon keeps one log file of plain records)');
});

test("a container without a driver takes the daemon's, and the daemon's options where it sets none", () => {
  const daemon = { type: 'json-file', config: { 'max-size': '10m' } };
  assert.deepEqual(mergeLogConfig(undefined, daemon), daemon);
  assert.deepEqual(mergeLogConfig({ type: '', config: { 'max-size': '1k' } }, daemon), { type: 'json-file', config: { 'max-size': '1k' } });
  assert.deepEqual(mergeLogConfig({ type: 'json-file', config: { 'max-file': '1' } }, daemon), { type: 'json-file', config: { 'max-file': '1', 'max-size': '10m' } });
  refused(() => mergeLogConfig({ type: 'local', config: {} }, daemon), 'not-implemented', 'not supported by berth yet: log driver local (berth logs as json-file)');
});
