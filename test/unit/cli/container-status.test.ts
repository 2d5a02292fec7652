import { test } from 'node:test';
import assert from 'node:assert/strict';
import { containerStatus, createdAgo, statusFromStateWord } from '../../../src/cli/container-status.js';

const NOW = Date.parse('2026-11-22T14:45:00Z');
const ago = (ms: number): string => new Date(NOW - ms).toISOString();
const ZERO = '0001-01-01T00:00:00Z';

test('running containers: "Up <duration>"', () => {
  assert.equal(containerStatus({ Running: true, StartedAt: ago(3000), FinishedAt: ZERO }, NOW), 'Up 3 seconds');
  assert.equal(containerStatus({ Running: true, StartedAt: ago(200), FinishedAt: ZERO }, NOW), 'Up Less than a second');
  assert.equal(containerStatus({ Running: true, StartedAt: ago(150_000) }, NOW), 'Up 2 minutes');
  assert.equal(containerStatus({ Running: true, StartedAt: ago(3_600_000) }, NOW), 'Up About an hour');
  assert.equal(containerStatus({ Running: true, Paused: true, StartedAt: ago(5000) }, NOW), 'Up 5 seconds (Paused)');
  assert.equal(
    containerStatus({ Running: true, StartedAt: ago(5000), Health: { Status: 'starting' } }, NOW),
    'Up 5 seconds (health: starting)',
  );
  assert.equal(containerStatus({ Running: true, StartedAt: ago(5000), Health: { Status: 'healthy' } }, NOW), 'Up 5 seconds (healthy)');
  assert.equal(
    containerStatus({ Running: true, Restarting: true, ExitCode: 1, StartedAt: ago(9000), FinishedAt: ago(2000) }, NOW),
    'Restarting (1) 2 seconds ago',
  );
});

test('stopped containers: "Exited (code) <duration> ago", "Created", "Dead"', () => {
  assert.equal(
    containerStatus({ Running: false, ExitCode: 3, StartedAt: ago(10_000), FinishedAt: ago(2000) }, NOW),
    'Exited (3) 2 seconds ago',
  );
  assert.equal(
    containerStatus({ Running: false, ExitCode: 137, StartedAt: ago(7_200_000), FinishedAt: ago(7_000_000) }, NOW),
    'Exited (137) 2 hours ago',
  );
  assert.equal(containerStatus({ Running: false, StartedAt: ZERO, FinishedAt: ZERO }, NOW), 'Created');
  assert.equal(containerStatus({ Status: 'created' }, NOW), 'Created');
  assert.equal(containerStatus({ Running: false, Dead: true, StartedAt: ago(5000) }, NOW), 'Dead');
  assert.equal(containerStatus({ Running: false, Status: 'removing', StartedAt: ago(5000) }, NOW), 'Removal In Progress');
  assert.equal(containerStatus({ Running: false, StartedAt: ago(5000), FinishedAt: ZERO }, NOW), '');
});

test('CREATED column and the fallback for an empty Status', () => {
  assert.equal(createdAgo(NOW / 1000 - 150, NOW), '2 minutes ago');
  assert.equal(createdAgo(NOW / 1000, NOW), 'Less than a second ago');
  assert.equal(createdAgo(NOW / 1000 - 86400 * 20, NOW), '2 weeks ago');
  assert.equal(statusFromStateWord('created'), 'Created');
  assert.equal(statusFromStateWord('exited'), 'Exited');
});
