import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile, appendFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseLogRecord, readLogs, type LogEntry } from '../../../src/runtime/logs.js';

describe('conmon k8s-file log records', () => {
  it('restores full lines and keeps partial ones unterminated', () => {
    const full = parseLogRecord(Buffer.from('2026-11-22T14:33:14.480379777+00:00 stdout F line 0'));
    assert.equal(full?.stream, 'stdout');
    assert.equal(full?.data.toString(), 'line 0\n');
    assert.equal(full?.timestamp, '2026-11-22T14:33:14.480379777Z');
    const partial = parseLogRecord(Buffer.from('2026-11-22T14:33:14.480379777+00:00 stderr P / # '));
    assert.equal(partial?.stream, 'stderr');
    assert.equal(partial?.data.toString(), '/ # ');
    const empty = parseLogRecord(Buffer.from('2026-11-22T14:33:14.5+00:00 stdout F '));
    assert.equal(empty?.data.toString(), '\n');
    assert.equal(parseLogRecord(Buffer.from('garbage')), undefined);
    assert.equal(parseLogRecord(Buffer.from('2026-11-22T14:33:14Z other F x')), undefined);
  });

  it('converts offsets to UTC', () => {
    const e = parseLogRecord(Buffer.from('2026-11-22T16:00:00.25+02:00 stdout F x'));
    assert.equal(e?.timestamp, '2026-11-22T14:00:00.25Z');
    assert.equal(e?.time, Date.parse('2026-11-22T14:00:00Z') / 1000 + 0.25);
  });

  it('tails, filters by time and follows until the container exits', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'berth-logs-'));
    try {
      const path = join(dir, 'ctr.log');
      await writeFile(path, ['2026-01-01T00:00:01Z stdout F a', '2026-01-01T00:00:02Z stderr F b', '2026-01-01T00:00:03Z stdout F c', ''].join('\n'));
      const read = async (options: { tail?: number; since?: number; until?: number }): Promise<string> => {
        const seen: LogEntry[] = [];
        await readLogs(path, { follow: false, ...options, onEntry: (e) => void seen.push(e) });
        return seen.map((e) => e.data.toString().trim()).join('');
      };
      assert.equal(await read({}), 'abc');
      assert.equal(await read({ tail: 2 }), 'bc');
      assert.equal(await read({ tail: 0 }), '');
      assert.equal(await read({ since: Date.parse('2026-01-01T00:00:02Z') / 1000 }), 'bc');
      assert.equal(await read({ until: Date.parse('2026-01-01T00:00:02Z') / 1000 }), 'ab');

      let exit!: () => void;
      const exited = new Promise<void>((r) => (exit = r));
      const followed: string[] = [];
      const following = readLogs(path, { follow: true, exited, onEntry: (e) => void followed.push(e.data.toString()) });
      await new Promise((r) => setTimeout(r, 50));
      await appendFile(path, '2026-01-01T00:00:04Z stdout P d');
      await appendFile(path, '\n2026-01-01T00:00:05Z stdout F e\n');
      await new Promise((r) => setTimeout(r, 50));
      exit();
      await following;
      assert.deepEqual(followed, ['a\n', 'b\n', 'c\n', 'd', 'e\n']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
