import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  bytesSize,
  formatG,
  fromHumanSize,
  goDurationSeconds,
  humanDuration,
  humanSize,
  humanSizeWithPrecision,
  parseGoDuration,
  ramInBytes,
} from '../../../src/core/units.js';

test("formatG matches Go's %.Ng", () => {
  assert.equal(formatG(4.26, 3), '4.26');
  assert.equal(formatG(1.982298, 3), '1.98');
  assert.equal(formatG(531, 3), '531');
  assert.equal(formatG(2, 3), '2');
  assert.equal(formatG(1.5, 3), '1.5');
  assert.equal(formatG(100, 3), '100');
  assert.equal(formatG(999.5, 3), '1e+03');
  assert.equal(formatG(123456, 3), '1.23e+05');
  assert.equal(formatG(0.00001234, 3), '1.23e-05');
  assert.equal(formatG(0.5, 4), '0.5');
  assert.equal(formatG(0, 3), '0');
  assert.equal(formatG(395.841979, 3), '396');
});

test('humanSizeWithPrecision(3) as `docker images` prints sizes', () => {
  assert.equal(humanSizeWithPrecision(4_260_000, 3), '4.26MB');
  assert.equal(humanSizeWithPrecision(1_982_298, 3), '1.98MB');
  assert.equal(humanSizeWithPrecision(531_000, 3), '531kB');
  assert.equal(humanSizeWithPrecision(395_841_979, 3), '396MB');
  assert.equal(humanSizeWithPrecision(0, 3), '0B');
  assert.equal(humanSizeWithPrecision(12, 3), '12B');
  assert.equal(humanSizeWithPrecision(1000, 3), '1kB');
  assert.equal(humanSizeWithPrecision(1_500_000_000, 3), '1.5GB');
});

test('humanSize (4 significant digits) as progress bars print sizes', () => {
  assert.equal(humanSize(114), '114B');
  assert.equal(humanSize(1_982_298), '1.982MB');
  assert.equal(humanSize(1_000_000), '1MB');
  assert.equal(humanSize(4_260_000), '4.26MB');
  assert.equal(humanSize(999_999), '1000kB');
});

test('bytesSize uses binary units (docker info Total Memory)', () => {
  assert.equal(bytesSize(25_276_063_744), '23.54GiB');
  assert.equal(bytesSize(1024), '1KiB');
  assert.equal(bytesSize(512), '512B');
});

test('humanDuration matches go-units', () => {
  const s = 1000;
  assert.equal(humanDuration(0), 'Less than a second');
  assert.equal(humanDuration(999), 'Less than a second');
  assert.equal(humanDuration(1 * s), '1 second');
  assert.equal(humanDuration(3 * s), '3 seconds');
  assert.equal(humanDuration(59 * s), '59 seconds');
  assert.equal(humanDuration(60 * s), 'About a minute');
  assert.equal(humanDuration(119 * s), 'About a minute');
  assert.equal(humanDuration(120 * s), '2 minutes');
  assert.equal(humanDuration(59 * 60 * s), '59 minutes');
  assert.equal(humanDuration(60 * 60 * s), 'About an hour');
  assert.equal(humanDuration(89 * 60 * s), 'About an hour');
  assert.equal(humanDuration(90 * 60 * s), '2 hours');
  assert.equal(humanDuration(47 * 3600 * s), '47 hours');
  assert.equal(humanDuration(48 * 3600 * s), '2 days');
  assert.equal(humanDuration(13 * 86400 * s), '13 days');
  assert.equal(humanDuration(14 * 86400 * s), '2 weeks');
  assert.equal(humanDuration(20 * 86400 * s), '2 weeks');
  assert.equal(humanDuration(60 * 86400 * s), '2 months');
  assert.equal(humanDuration(400 * 86400 * s), '13 months');
  assert.equal(humanDuration(800 * 86400 * s), '2 years');
});

test('ramInBytes parses --shm-size/--memory like units.RAMInBytes', () => {
  assert.equal(ramInBytes('64m'), 67_108_864);
  assert.equal(ramInBytes('32M'), 33_554_432);
  assert.equal(ramInBytes('1g'), 1_073_741_824);
  assert.equal(ramInBytes('512k'), 524_288);
  assert.equal(ramInBytes('1024'), 1024);
  assert.equal(ramInBytes('1.5g'), 1_610_612_736);
  assert.equal(ramInBytes('64mb'), 67_108_864);
  assert.equal(ramInBytes('64MiB'), 67_108_864);
  assert.throws(() => ramInBytes('lots'), /invalid size: 'lots'/);
});

test('Go durations', () => {
  assert.equal(parseGoDuration('10m'), 600_000);
  assert.equal(parseGoDuration('1h30m'), 5_400_000);
  assert.equal(parseGoDuration('1.5s'), 1500);
  assert.equal(parseGoDuration('300ms'), 300);
  assert.equal(parseGoDuration('0'), 0);
  assert.equal(parseGoDuration('2026-01-01'), undefined);
  assert.equal(parseGoDuration('10'), undefined);
  assert.equal(parseGoDuration('5x'), undefined);
  assert.equal(goDurationSeconds(0), '0s');
  assert.equal(goDurationSeconds(5), '5s');
  assert.equal(goDurationSeconds(120), '2m0s');
  assert.equal(goDurationSeconds(3723), '1h2m3s');
});

test('fromHumanSize parses --log-opt max-size like go-units FromHumanSize (SI multipliers, Go error texts)', () => {
  assert.equal(fromHumanSize('10m'), 10_000_000);
  assert.equal(fromHumanSize('2k'), 2000);
  assert.equal(fromHumanSize('1.5KB'), 1500);
  assert.equal(fromHumanSize('3 MiB'), 3_000_000);
  assert.equal(fromHumanSize('512b'), 512);
  assert.equal(fromHumanSize('100'), 100);
  assert.equal(fromHumanSize('0'), 0);
  assert.throws(() => fromHumanSize('lots'), /^Error: invalid size: 'lots'$/);
  assert.throws(() => fromHumanSize('-1'), /^Error: invalid size: '-1'$/);
  assert.throws(() => fromHumanSize('10x'), /^Error: invalid suffix: 'x'$/);
  assert.throws(() => fromHumanSize('10kbx'), /^Error: invalid suffix: 'kbx'$/);
  assert.throws(() => fromHumanSize('10Mbytes'), /^Error: invalid suffix: 'Mbytes'$/);
  assert.throws(() => fromHumanSize('1.2.3k'), /^Error: strconv.ParseFloat: parsing "1.2.3": invalid syntax$/);
});
