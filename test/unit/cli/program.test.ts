import { test } from 'node:test';
import assert from 'node:assert/strict';
import { argCountMessage, buildProgram, commandWord } from '../../../src/cli/program.js';

function parseRun(argv: string[]): { image: string; args: string[]; opts: Record<string, unknown> } {
  const program = buildProgram('run');
  const run = program.commands.find((c) => c.name() === 'run');
  assert.ok(run);
  let got: { image: string; args: string[]; opts: Record<string, unknown> } | undefined;
  run.action((image: string, args: string[], opts: Record<string, unknown>) => {
    got = { image, args, opts };
  });
  program.parse(argv, { from: 'user' });
  assert.ok(got);
  return got;
}

test('run: option parsing stops at the image; repeatable flags collect', () => {
  const r = parseRun(['run', '--rm', '-e', 'A=1', '--env=B=2', '-it', '--name', 'n', 'busybox', 'sh', '-c', 'echo -e x', '--rm']);
  assert.equal(r.image, 'busybox');
  assert.deepEqual(r.args, ['sh', '-c', 'echo -e x', '--rm']);
  assert.deepEqual(r.opts['env'], ['A=1', 'B=2']);
  assert.equal(r.opts['rm'], true);
  assert.equal(r.opts['interactive'], true);
  assert.equal(r.opts['tty'], true);
  assert.equal(r.opts['name'], 'n');
  assert.equal(r.opts['pull'], 'missing');
  const h = parseRun(['run', '-h', 'myhost', '-d', 'busybox']);
  assert.equal(h.opts['hostname'], 'myhost');
  assert.equal(h.opts['detach'], true);
  assert.deepEqual(h.args, []);
});

test('the command word skips global options', () => {
  assert.equal(commandWord(['-H', 'unix:///x.sock', 'run', 'busybox']), 'run');
  assert.equal(commandWord(['--host=unix:///x.sock', 'ps']), 'ps');
  assert.equal(commandWord(['--debug', 'image', 'ls']), 'image');
  assert.equal(commandWord(['--help']), undefined);
});

test("usage errors read as docker's", () => {
  assert.equal(
    argCountMessage('stop', 'berth stop [OPTIONS] CONTAINER [CONTAINER...]'),
    "berth: 'berth stop' requires at least 1 argument\n\nUsage:  berth stop [OPTIONS] CONTAINER [CONTAINER...]\n\nSee 'berth stop --help' for more information",
  );
  assert.equal(
    argCountMessage('logs', 'berth logs [OPTIONS] CONTAINER'),
    "berth: 'berth logs' requires 1 argument\n\nUsage:  berth logs [OPTIONS] CONTAINER\n\nRun 'berth logs --help' for more information",
  );
  assert.equal(
    argCountMessage('ps', 'berth ps [OPTIONS]'),
    "berth: 'berth ps' accepts no arguments\n\nUsage:  berth ps [OPTIONS]\n\nRun 'berth ps --help' for more information",
  );
});
