import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { healthSuffix, inspectHealth } from '../../../src/api/docker/convert-limits.js';
import type { ContainerRecord } from '../../../src/containers/types.js';
import { isBerthError } from '../../../src/core/errors.js';
import { applyProbeResult, goDuration, probeCommand, probeDelayMs, validateHealthcheck, type HealthState } from '../../../src/containers/health.js';
import { mergeHealthcheck } from '../../../src/containers/limits.js';
import { nextRestartDelay, policyWantsRestart, RestartScheduler, validateRestartPolicy } from '../../../src/containers/restart.js';

describe('restart backoff (moby restartmanager)', () => {
  test('100 ms, doubling to a 1 min cap, back to 100 ms after 10 s up', () => {
    const delays: number[] = [];
    let d = 0;
    for (let i = 0; i < 12; i++) delays.push((d = nextRestartDelay(d, 50)));
    assert.deepEqual(delays, [100, 200, 400, 800, 1600, 3200, 6400, 12800, 25600, 51200, 60000, 60000]);
    assert.equal(nextRestartDelay(60000, 10_000), 100);
    assert.equal(nextRestartDelay(400, 9_999), 800);
  });

  test('policies decide like ShouldRestart', () => {
    const facts = { exitCode: 1, manuallyStopped: false, restartCount: 0 };
    assert.equal(policyWantsRestart({ name: 'no', maximumRetryCount: 0 }, facts), false);
    assert.equal(policyWantsRestart({ name: 'always', maximumRetryCount: 0 }, { ...facts, manuallyStopped: true }), true);
    assert.equal(policyWantsRestart({ name: 'unless-stopped', maximumRetryCount: 0 }, { ...facts, manuallyStopped: true }), false);
    assert.equal(policyWantsRestart({ name: 'unless-stopped', maximumRetryCount: 0 }, { ...facts, exitCode: 0 }), true);
    assert.equal(policyWantsRestart({ name: 'on-failure', maximumRetryCount: 0 }, { ...facts, exitCode: 0 }), false);
    assert.equal(policyWantsRestart({ name: 'on-failure', maximumRetryCount: 2 }, { ...facts, restartCount: 1 }), true);
    assert.equal(policyWantsRestart({ name: 'on-failure', maximumRetryCount: 2 }, { ...facts, restartCount: 2 }), false);
    assert.equal(policyWantsRestart({ name: 'on-failure', maximumRetryCount: 0 }, { ...facts, restartCount: 99 }), true);
  });

  test('a stop or kill through the API cancels the next restart once', () => {
    const s = new RestartScheduler();
    const always = { name: 'always', maximumRetryCount: 0 };
    const facts = { exitCode: 0, manuallyStopped: false, restartCount: 0 };
    assert.equal(s.afterExit('a', always, facts, 10), 100);
    assert.equal(s.afterExit('a', always, facts, 10), 200);
    s.markExitOnNext('a');
    assert.equal(s.afterExit('a', always, facts, 10), undefined);
    assert.equal(s.afterExit('a', always, facts, 10), 100);
    s.close();
  });

  test('validation with dockerd messages', () => {
    const bad = (name: string, max: number, message: RegExp): void =>
      assert.throws(() => validateRestartPolicy({ name, maximumRetryCount: max }), (e: unknown) => isBerthError(e, 'invalid-argument') && message.test((e as Error).message));
    bad('on-failure', -1, /maximum retry count cannot be negative/);
    bad('always', 3, /maximum retry count can only be used with 'on-failure'$/);
    bad('no', -3, /can only be used with 'on-failure' and cannot be negative/);
    bad('sometimes', 0, /unknown policy 'sometimes'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'/);
    assert.doesNotThrow(() => validateRestartPolicy({ name: 'on-failure', maximumRetryCount: 5 }));
  });
});

describe('health checks (moby daemon/health.go)', () => {
  const config = { Test: ['CMD-SHELL', 'true'], Interval: 1e9, Retries: 2, StartPeriod: 5e9 };
  const at = (iso: number): string => new Date(iso).toISOString();
  const started = Date.parse('2026-01-01T00:00:00Z');
  const result = (exitCode: number, atMs: number): { Start: string; End: string; ExitCode: number; Output: string } => ({ Start: at(atMs), End: at(atMs + 10), ExitCode: exitCode, Output: '' });

  test('failures during the start period do not count; retries failures in a row make it unhealthy; success resets', () => {
    let s: HealthState = { Status: 'starting', FailingStreak: 0, Log: [] };
    s = applyProbeResult(s, result(1, started + 1000), config, started);
    assert.deepEqual([s.Status, s.FailingStreak], ['starting', 0]);
    s = applyProbeResult(s, result(1, started + 6000), config, started);
    assert.deepEqual([s.Status, s.FailingStreak], ['starting', 1]);
    s = applyProbeResult(s, result(1, started + 7000), config, started);
    assert.deepEqual([s.Status, s.FailingStreak], ['unhealthy', 2]);
    s = applyProbeResult(s, result(0, started + 8000), config, started);
    assert.deepEqual([s.Status, s.FailingStreak], ['healthy', 0]);
    for (let i = 0; i < 10; i++) s = applyProbeResult(s, result(0, started + 9000 + i), config, started);
    assert.equal(s.Log.length, 5);
  });

  test('probe command, intervals and validation', () => {
    assert.deepEqual(probeCommand({ Test: ['CMD-SHELL', 'curl -f x'] }), ['/bin/sh', '-c', 'curl -f x']);
    assert.deepEqual(probeCommand({ Test: ['CMD', 'true', 'x'] }), ['true', 'x']);
    assert.equal(probeCommand({ Test: ['NONE'] }), undefined);
    assert.equal(probeCommand(undefined), undefined);
    assert.equal(probeDelayMs({ Test: ['CMD', 'true'] }, 0, 100_000, 'healthy'), 30_000);
    assert.equal(probeDelayMs(config, started, started + 4500, 'starting'), 500);
    assert.equal(probeDelayMs({ ...config, StartPeriod: 60e9, StartInterval: 2e9 }, started, started + 1000, 'starting'), 2000);
    assert.throws(() => validateHealthcheck({ Test: ['CMD', 'true'], Interval: 10 }), /Interval in Healthcheck cannot be less than 1ms/);
    assert.throws(() => validateHealthcheck({ Test: ['CMD', 'true'], Retries: -1 }), /Retries in Healthcheck cannot be negative/);
    assert.throws(() => validateHealthcheck({ Test: ['SHELL', 'true'] }), /unknown healthcheck type/);
    assert.equal(goDuration(300), '300ms');
    assert.equal(goDuration(30_000), '30s');
    assert.equal(goDuration(1500), '1.5s');
    assert.equal(goDuration(90_000), '1m30s');
  });

  test("the request's healthcheck is merged over the image's (daemon/commit.go merge)", () => {
    const image = { Test: ['CMD-SHELL', 'check'], Interval: 5e9, Retries: 4 };
    assert.deepEqual(mergeHealthcheck(undefined, image), image);
    assert.deepEqual(mergeHealthcheck({ Interval: 1e9 }, image), { Test: ['CMD-SHELL', 'check'], Interval: 1e9, Retries: 4 });
    assert.deepEqual(mergeHealthcheck({ Test: ['NONE'] }, image), { Test: ['NONE'], Interval: 5e9, Retries: 4 });
    assert.equal(mergeHealthcheck(undefined, undefined), undefined);
  });
});

describe('health in ps and inspect', () => {
  test('the ps STATUS suffix and State.Health', () => {
    assert.equal(healthSuffix(undefined), '');
    assert.equal(healthSuffix({ Status: 'starting', FailingStreak: 0, Log: [] }), ' (health: starting)');
    assert.equal(healthSuffix({ Status: 'unhealthy', FailingStreak: 3, Log: [] }), ' (unhealthy)');
    const record = (test: string[] | undefined, status: ContainerRecord['state']['status']): ContainerRecord =>
      ({ request: { healthcheck: test ? { Test: test } : undefined }, state: { status } }) as unknown as ContainerRecord;
    assert.deepEqual(inspectHealth(undefined, record(undefined, 'running')), {});
    assert.deepEqual(inspectHealth(undefined, record(['NONE'], 'running')), {});
    assert.deepEqual(inspectHealth(undefined, record(['CMD', 'true'], 'running')), { Health: { Status: 'starting', FailingStreak: 0, Log: [] } });
    assert.deepEqual(inspectHealth(undefined, record(['CMD', 'true'], 'exited')), {});
  });
});
