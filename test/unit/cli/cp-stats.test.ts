/** berth cp's copy rules (docker's PrepareArchiveCopy) and berth stats' figures (docker's stats helpers). */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { prepareArchiveCopy, rebaseName, splitCpArg, splitPathDirEntry } from '../../../src/cli/commands/cp.js';
import { cpuPercent, memoryUsage, statsEntry, statsFields } from '../../../src/cli/stats-format.js';

describe('cp rules', () => {
  it('tells container paths from local ones', () => {
    assert.deepEqual(splitCpArg('web:/etc'), { container: 'web', path: '/etc' });
    assert.deepEqual(splitCpArg('/abs:path'), { path: '/abs:path' });
    assert.deepEqual(splitCpArg('./a:b'), { path: './a:b' });
    assert.deepEqual(splitCpArg('file'), { path: 'file' });
    assert.deepEqual(splitCpArg('-'), { path: '-' });
  });

  it('splits paths keeping "." for dir/.', () => {
    assert.deepEqual(splitPathDirEntry('/a/b/'), ['/a', 'b']);
    assert.deepEqual(splitPathDirEntry('/a/b/.'), ['/a/b', '.']);
    assert.deepEqual(splitPathDirEntry('/a'), ['/', 'a']);
  });

  it('decides where to extract and what to rename', () => {
    assert.deepEqual(prepareArchiveCopy({ path: '/etc', exists: true, isDir: true }, { path: '/out', exists: true, isDir: true }), { dstDir: '/out' });
    assert.deepEqual(prepareArchiveCopy({ path: '/etc', exists: true, isDir: true }, { path: '/out/new', exists: false, isDir: false }), { dstDir: '/out', rebase: ['etc', 'new'] });
    assert.deepEqual(prepareArchiveCopy({ path: '/etc/.', exists: true, isDir: true }, { path: '/out/new', exists: false, isDir: false }), { dstDir: '/out', rebase: ['.', 'new'] });
    assert.deepEqual(prepareArchiveCopy({ path: '/f', exists: true, isDir: false, rebaseName: 'link' }, { path: '/out/g', exists: true, isDir: false }), { dstDir: '/out', rebase: ['link', 'g'] });
    assert.throws(() => prepareArchiveCopy({ path: '/etc', exists: true, isDir: true }, { path: '/out/f', exists: true, isDir: false }), /cannot copy directory/);
    assert.throws(() => prepareArchiveCopy({ path: '/f', exists: true, isDir: false }, { path: '/out/nodir/', exists: false, isDir: false }), /no such directory/);
  });

  it('rebases only the top name', () => {
    assert.equal(rebaseName('etc/', 'etc', 'new'), 'new/');
    assert.equal(rebaseName('etc/passwd', 'etc', 'new'), 'new/passwd');
    assert.equal(rebaseName('etcetera', 'etc', 'new'), 'etcetera');
    assert.equal(rebaseName('./sub/a', '.', 'x'), 'x/sub/a');
  });
});

describe('stats figures', () => {
  const sample = {
    name: '/web',
    id: 'a'.repeat(64),
    pids_stats: { current: 3 },
    cpu_stats: { cpu_usage: { total_usage: 3_000_000_000, percpu_usage: [1, 2] }, system_cpu_usage: 20_000_000_000, online_cpus: 2 },
    precpu_stats: { cpu_usage: { total_usage: 2_000_000_000 }, system_cpu_usage: 10_000_000_000 },
    memory_stats: { usage: 10 * 1024 * 1024, limit: 100 * 1024 * 1024, stats: { total_inactive_file: 2 * 1024 * 1024 } },
    blkio_stats: { io_service_bytes_recursive: [{ op: 'Read', value: 1000 }, { op: 'write', value: 2000 }, { op: 'Total', value: 3000 }] },
    networks: { eth0: { rx_bytes: 1500, tx_bytes: 500 }, eth1: { rx_bytes: 500, tx_bytes: 500 } },
  };

  it('computes CPU % against the previous sample, scaled by online CPUs', () => {
    assert.equal(cpuPercent(sample), 20);
    assert.equal(cpuPercent({ ...sample, precpu_stats: sample.cpu_stats }), 0);
  });

  it('subtracts the inactive file cache from memory (v1 and v2 names)', () => {
    assert.equal(memoryUsage(sample), 8 * 1024 * 1024);
    assert.equal(memoryUsage({ memory_stats: { usage: 100, stats: { inactive_file: 40 } } }), 60);
    assert.equal(memoryUsage({ memory_stats: { usage: 100, stats: {} } }), 100);
  });

  it('renders docker\'s columns', () => {
    assert.deepEqual(statsFields(statsEntry('web', sample), true), {
      Container: 'web',
      ID: 'aaaaaaaaaaaa',
      Name: 'web',
      CPUPerc: '20.00%',
      MemUsage: '8MiB / 100MiB',
      MemPerc: '8.00%',
      NetIO: '2kB / 1kB',
      BlockIO: '1kB / 2kB',
      PIDs: '3',
    });
    assert.equal(statsFields({ ...statsEntry('x', {}), invalid: true }, true).MemUsage, '-- / --');
  });
});
