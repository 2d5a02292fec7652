/** --log-opt max-size (one log file, as json-file with max-file=1), daemon defaults, and the options refused (docker CLI, berth CLI, the API). */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { startBerthd, type Berthd } from '../helpers/berthd.js';
import { assertSameAsDocker } from '../helpers/cli-compare.js';

describe('log options', () => {
  let d: Berthd;
  before(async () => {
    // The daemon's default applies to every container that does not set the option itself.
    d = await startBerthd(['--log-opt', 'max-size=64k']);
  });
  after(async () => {
    await d.destroy();
  });

  const logFile = (id: string): string => join(d.root, 'data', 'containers', id, 'ctr.log');
  const lines = (count: number, pause = ''): string => `i=0; while [ $i -lt ${count} ]; do echo line-$i; i=$((i+1)); ${pause} done`;
  const expected = (from: number, to: number): string[] => Array.from({ length: to - from }, (_, i) => `line-${from + i}`);

  it('keeps the log under max-size: what came before the last restart of the file is gone, as with json-file', async () => {
    const run = await d.docker(['run', '-d', '--name', 'small', '--log-opt', 'max-size=2k', 'busybox', 'sh', '-c', lines(300)]);
    assert.equal(run.code, 0, run.stderr);
    const id = run.stdout.trim();
    assert.equal((await d.docker(['wait', 'small'])).stdout.trim(), '0');
    const shown = (await d.docker(['logs', 'small'])).stdout.trim().split('\n');
    assert.ok(shown.length > 0 && shown.length < 60, `only the last lines are left, got ${shown.length}`);
    assert.deepEqual(shown, expected(300 - shown.length, 300), 'the newest lines, in order, none cut');
    assert.ok(statSync(logFile(id)).size <= 2000, 'the file stays within 2k (SI, as dockerd reads it)');
    const config = (await d.docker(['inspect', '-f', '{{json .HostConfig.LogConfig}}', 'small'])).stdout.trim();
    assert.equal(config, '{"Type":"json-file","Config":{"max-size":"2k"}}');
    assert.equal((await d.berth(['rm', 'small'])).code, 0);
  });

  it('follows the log across the restarts of its file', async () => {
    const run = await d.berth(['run', '-d', '--name', 'chatty', '--log-opt', 'max-size=1k', 'busybox', 'sh', '-c', `sleep 1; ${lines(80, 'usleep 20000;')}`]);
    assert.equal(run.code, 0, run.stderr);
    // Started while the container sleeps: every line passes through the follower, across about four files.
    const followed = await d.docker(['logs', '-f', 'chatty']);
    assert.equal(followed.code, 0, followed.stderr);
    assert.deepEqual(followed.stdout.trim().split('\n'), expected(0, 80));
    assert.ok(statSync(logFile(run.stdout.trim())).size <= 1000);
    assert.equal((await d.docker(['rm', 'chatty'])).code, 0);
  });

  it("gives a container the daemon's options unless it sets its own", async () => {
    const created = await d.docker(['create', '--name', 'defaults', '--log-driver', 'json-file', 'busybox', 'true']);
    assert.equal(created.code, 0, created.stderr);
    assert.equal((await d.docker(['inspect', '-f', '{{json .HostConfig.LogConfig}}', 'defaults'])).stdout.trim(), '{"Type":"json-file","Config":{"max-size":"64k"}}');
    assert.equal((await d.docker(['rm', 'defaults'])).code, 0);
  });

  it("refuses bad options with dockerd's words, and options berth cannot honour with 501", async () => {
    for (const flags of [
      ['--log-opt', 'max-size=0'],
      ['--log-opt', 'max-size=10x'],
      ['--log-opt', 'max-file=abc'],
      ['--log-opt', 'bogus=1'],
      ['--log-opt', 'compress=true'],
      ['--log-opt', 'max-file=3'],
      ['--log-opt', 'tag={{.Name}}'],
      ['--log-driver', 'syslog'],
      ['--log-driver', 'none', '--log-opt', 'max-size=1k'],
    ]) {
      const r = await assertSameAsDocker(d, ['run', '--rm', ...flags, 'busybox', 'true']);
      assert.equal(r.code, 125, `${flags.join(' ')}: ${r.stderr}`);
    }
    const status = async (config: Record<string, unknown>, type = ''): Promise<[number, string]> => {
      const r = await d.api('POST', '/containers/create', { Image: 'busybox', HostConfig: { LogConfig: { Type: type, Config: config } } });
      return [r.status, r.json<{ message: string }>().message];
    };
    assert.deepEqual(await status({ 'max-size': '-1' }), [400, "invalid size: '-1'"]);
    assert.deepEqual(await status({ foo: 'bar' }), [400, "unknown log opt 'foo' for json-file log driver"]);
    assert.deepEqual(await status({ 'max-size': 5 }), [400, 'json: cannot unmarshal number into Go struct field LogConfig.HostConfig.LogConfig.Config of type string']);
    assert.deepEqual(await status({ 'max-file': '2', 'max-size': '1m' }), [501, 'not supported by berth yet: log-opt max-file above 1 (conmon keeps one log file of plain records)']);
    assert.deepEqual(await status({}, 'journald'), [501, 'not supported by berth yet: log driver journald (berth logs as json-file)']);
    assert.equal((await d.docker(['ps', '-aq'])).stdout, '', 'nothing was created');
  });
});
