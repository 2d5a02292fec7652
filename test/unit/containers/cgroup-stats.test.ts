/** cgroup v1/v2, /proc/stat and net/dev parsers behind `docker stats`, on fixture file contents. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseFlatKeyed, parseIoStatV2, parseNetDev, parseSingle, parseSystemCpuUsage, sampleV1, sampleV2 } from '../../../src/containers/cgroup-stats.js';

const HOST_MEMORY = 8 * 1024 ** 3;

describe('cgroup v2 sample', () => {
  const files = {
    'cpu.stat': 'usage_usec 123456\nuser_usec 100000\nsystem_usec 23456\nnr_periods 10\nnr_throttled 2\nthrottled_usec 5000\nnr_bursts 0\nburst_usec 0\n',
    'memory.current': '1048576\n',
    'memory.max': 'max\n',
    'memory.stat': 'anon 4096\nfile 8192\ninactive_file 4096\nactive_file 4096\n',
    'pids.current': '3\n',
    'pids.max': '100\n',
    'io.stat': '8:0 rbytes=4096 wbytes=8192 rios=1 wios=2 dbytes=0 dios=0\n253:1 rbytes=0 wbytes=512 rios=0 wios=1 dbytes=0 dios=0\n',
  };

  it('converts microseconds to nanoseconds and has no per-CPU usage', () => {
    const s = sampleV2(files, HOST_MEMORY);
    assert.deepEqual(s.cpu.cpu_usage, { total_usage: 123456000, usage_in_kernelmode: 23456000, usage_in_usermode: 100000000 });
    assert.deepEqual(s.cpu.throttling_data, { periods: 10, throttled_periods: 2, throttled_time: 5000000 });
  });

  it('reads memory, an unlimited max as the host memory, and every memory.stat key', () => {
    const s = sampleV2(files, HOST_MEMORY);
    assert.equal(s.memory.usage, 1048576);
    assert.equal(s.memory.limit, HOST_MEMORY);
    assert.equal(s.memory.max_usage, undefined);
    assert.deepEqual(s.memory.stats, { anon: 4096, file: 8192, inactive_file: 4096, active_file: 4096 });
    assert.equal(sampleV2({ ...files, 'memory.max': '67108864\n' }, HOST_MEMORY).memory.limit, 67108864);
  });

  it('reads pids and io.stat as read/write bytes and operations per device', () => {
    const s = sampleV2(files, HOST_MEMORY);
    assert.deepEqual(s.pids, { current: 3, limit: 100 });
    assert.deepEqual(sampleV2({ ...files, 'pids.max': 'max\n' }, HOST_MEMORY).pids, { current: 3 });
    assert.deepEqual(s.blkio.io_service_bytes_recursive, [
      { major: 8, minor: 0, op: 'read', value: 4096 },
      { major: 8, minor: 0, op: 'write', value: 8192 },
      { major: 253, minor: 1, op: 'read', value: 0 },
      { major: 253, minor: 1, op: 'write', value: 512 },
    ]);
    assert.deepEqual(s.blkio.io_serviced_recursive?.map((e) => e.value), [1, 2, 0, 1]);
    assert.equal(s.blkio.io_queue_recursive, null);
  });

  it('gives zeros when the cgroup has vanished (files missing)', () => {
    const s = sampleV2({}, HOST_MEMORY);
    assert.equal(s.cpu.cpu_usage.total_usage, 0);
    assert.equal(s.memory.usage, 0);
    assert.deepEqual(s.blkio.io_service_bytes_recursive, []);
  });
});

describe('cgroup v1 sample', () => {
  it('reads cpuacct (ticks → ns), memory, pids and blkio', () => {
    const s = sampleV1(
      {
        'cpuacct.usage': '27007079\n',
        'cpuacct.usage_percpu': '3825327 23181752 \n',
        'cpuacct.stat': 'user 1\nsystem 2\n',
        'cpu.stat': 'nr_periods 4\nnr_throttled 1\nthrottled_time 999\n',
        'memory.usage_in_bytes': '339968\n',
        'memory.max_usage_in_bytes': '3825664\n',
        'memory.limit_in_bytes': '9223372036854771712\n',
        'memory.stat': 'cache 0\nrss 53248\ntotal_inactive_file 0\n',
        'pids.current': '1\n',
        'pids.max': 'max\n',
        'blkio.throttle.io_service_bytes_recursive': '8:0 Read 4096\n8:0 Write 0\nTotal 4096\n',
      },
      HOST_MEMORY,
    );
    assert.deepEqual(s.cpu.cpu_usage, { total_usage: 27007079, percpu_usage: [3825327, 23181752], usage_in_kernelmode: 20000000, usage_in_usermode: 10000000 });
    assert.deepEqual(s.cpu.throttling_data, { periods: 4, throttled_periods: 1, throttled_time: 999 });
    assert.equal(s.memory.usage, 339968);
    assert.equal(s.memory.max_usage, 3825664);
    assert.equal(s.memory.limit, HOST_MEMORY);
    assert.equal(s.memory.stats?.['rss'], 53248);
    assert.deepEqual(s.pids, { current: 1 });
    assert.deepEqual(s.blkio.io_service_bytes_recursive, [
      { major: 8, minor: 0, op: 'Read', value: 4096 },
      { major: 8, minor: 0, op: 'Write', value: 0 },
    ]);
    assert.deepEqual(s.blkio.io_serviced_recursive, []);
  });
});

describe('proc parsers', () => {
  it('sums the first seven /proc/stat cpu fields in nanoseconds', () => {
    assert.equal(parseSystemCpuUsage('cpu  340693 0 117751 1478598 11658 0 4468 1175 0 0\ncpu0 1 2 3 4 5 6 7 8 9 10\n'), (340693 + 117751 + 1478598 + 11658 + 4468) * 10_000_000);
    assert.equal(parseSystemCpuUsage(''), 0);
  });

  it('reads net/dev without loopback', () => {
    const text = `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:     100       1    0    0    0     0          0         0      100       1    0    0    0     0       0          0
  eth0:     266       3    1    2    0     0          0         0       70       1    4    5    0     0       0          0
`;
    assert.deepEqual(parseNetDev(text), { eth0: { rx_bytes: 266, rx_packets: 3, rx_errors: 1, rx_dropped: 2, tx_bytes: 70, tx_packets: 1, tx_errors: 4, tx_dropped: 5 } });
    assert.deepEqual(parseNetDev(text.split('\n').slice(0, 3).join('\n')), {});
  });

  it('parses flat-keyed and single-value files defensively', () => {
    assert.deepEqual(parseFlatKeyed('a 1\nb x\n\nc 3'), { a: 1, c: 3 });
    assert.equal(parseSingle('max\n'), undefined);
    assert.equal(parseSingle(' 42\n'), 42);
    assert.deepEqual(parseIoStatV2('garbage\n'), { bytes: [], ios: [] });
  });
});
