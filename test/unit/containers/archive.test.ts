/** The path stat header of docker cp: Go FileMode bits, Go time format, base64 JSON; absPath rules. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { containerAbsPath, encodePathStat, goFileMode, goTime } from '../../../src/containers/archive.js';

describe('path stat header', () => {
  it('maps Unix modes to Go os.FileMode', () => {
    assert.equal(goFileMode(0o100644), 0o644);
    assert.equal(goFileMode(0o040755), 2 ** 31 + 0o755);
    assert.equal(goFileMode(0o120777), 2 ** 27 + 0o777);
    assert.equal(goFileMode(0o020666), 2 ** 26 + 2 ** 21 + 0o666);
    assert.equal(goFileMode(0o060660), 2 ** 26 + 0o660);
    assert.equal(goFileMode(0o010644), 2 ** 25 + 0o644);
    assert.equal(goFileMode(0o140755), 2 ** 24 + 0o755);
    assert.equal(goFileMode(0o104755), 2 ** 23 + 0o755);
    assert.equal(goFileMode(0o102755), 2 ** 22 + 0o755);
    assert.equal(goFileMode(0o041777), 2 ** 31 + 2 ** 20 + 0o777);
  });

  it('formats times as Go marshals time.Time', () => {
    assert.equal(goTime(1795358767_264784581n), '2026-11-22T14:46:07.264784581Z');
    assert.equal(goTime(1795358767_500000000n), '2026-11-22T14:46:07.5Z');
    assert.equal(goTime(1795358767_000000000n), '2026-11-22T14:46:07Z');
  });

  it('encodes the header as base64 JSON in dockerd key order', () => {
    const header = encodePathStat({ linkTarget: '/etc', mtime: '2026-11-22T14:46:07Z', mode: 134218239, size: 4, name: 'etclink' });
    assert.equal(Buffer.from(header, 'base64').toString(), '{"name":"etclink","size":4,"mode":134218239,"mtime":"2026-11-22T14:46:07Z","linkTarget":"/etc"}');
  });

  it('makes paths absolute and clean but keeps a trailing / or /.', () => {
    assert.equal(containerAbsPath('etc/passwd'), '/etc/passwd');
    assert.equal(containerAbsPath('/etc//../etc/'), '/etc/');
    assert.equal(containerAbsPath('/etc/.'), '/etc/.');
    assert.equal(containerAbsPath('/'), '/');
    assert.equal(containerAbsPath('/.'), '/.');
    assert.equal(containerAbsPath('/../..'), '/');
  });
});
