import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, openSync, closeSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runProcess, spawnProcess } from '../../../src/core/spawn.js';

describe('spawnProcess / runProcess (posix_spawn)', () => {
  test('collects stdout, stderr and the exit code', async () => {
    const r = await runProcess('sh', ['-c', 'echo out; echo err >&2; exit 3']);
    assert.deepEqual(r, { exit: { code: 3, signal: null }, stdout: 'out\n', stderr: 'err\n' });
  });

  test('reports a signal death', async () => {
    const r = await runProcess('sh', ['-c', 'kill -TERM $$']);
    assert.deepEqual(r.exit, { code: null, signal: 'SIGTERM' });
  });

  test('passes the environment and working directory, and nothing of berthd\'s ignored or blocked signals', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'berth-spawn-'));
    try {
      const r = await runProcess('sh', ['-c', 'echo "$GREETING"; pwd; grep -E "^Sig(Ign|Blk)" /proc/self/status'], {
        env: { GREETING: 'hello', PATH: process.env.PATH ?? '/usr/bin:/bin' },
        cwd: dir,
      });
      assert.equal(r.exit.code, 0, r.stderr);
      const [greeting, cwd, ...signals] = r.stdout.trim().split('\n');
      assert.equal(greeting, 'hello');
      assert.equal(cwd, dir);
      // Node ignores SIGPIPE; a child must not inherit that.
      assert.deepEqual(signals.map((line) => line.replace(/\s+/, ' ')).sort(), ['SigBlk: 0000000000000000', 'SigIgn: 0000000000000000']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('hands a file descriptor to the child and starts a new session on request', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'berth-spawn-'));
    const file = join(dir, 'log');
    const fd = openSync(file, 'a');
    try {
      const child = spawnProcess('sh', ['-c', 'echo to-fd-2 >&2; echo $$ >> /proc/self/fd/2; cat /proc/self/stat >&3'], { fds: ['ignore', 'ignore', fd, 'pipe'], newSession: true });
      closeSync(fd);
      const chunks: Buffer[] = [];
      const stat = await new Promise<string>((resolve) => {
        const pipe = child.pipes.get(3);
        assert.ok(pipe);
        pipe.on('data', (c: Buffer) => chunks.push(c));
        pipe.on('close', () => resolve(Buffer.concat(chunks).toString()));
      });
      assert.deepEqual(await child.exited, { code: 0, signal: null });
      assert.equal(readFileSync(file, 'utf8'), `to-fd-2\n${child.pid}\n`);
      // /proc/PID/stat field 6 is the session ID: the child leads its own session.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      assert.equal(Number(fields[3]), child.pid);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a program that does not exist is an error, not a crash', () => {
    assert.throws(() => spawnProcess('/no/such/program', [], { fds: ['ignore', 'ignore', 'ignore'] }), /cannot start \/no\/such\/program: ENOENT/);
  });
});
