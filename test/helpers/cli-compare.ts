/**
 * The berth CLI checked against the docker CLI on the same berthd: the docker CLI is the
 * reference for stdout, stderr (with "docker" read as "berth") and exit status.
 */
import assert from 'node:assert/strict';
import type { Berthd, CommandResult } from './berthd.js';

/** Runs `args` with both CLIs (docker first) and asserts identical results; returns berth's. */
export async function assertSameAsDocker(d: Berthd, args: string[]): Promise<CommandResult> {
  const docker = await d.docker(args);
  const berth = await d.berth(args);
  const label = `berth ${args.join(' ')}`;
  assert.equal(berth.stdout, docker.stdout, `${label}: stdout`);
  assert.equal(berth.stderr, docker.stderr.replace(/docker/g, 'berth'), `${label}: stderr`);
  assert.equal(berth.code, docker.code, `${label}: exit status`);
  return berth;
}
