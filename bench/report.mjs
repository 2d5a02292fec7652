// Renders the records of one bench/run.sh run (JSON lines: {sec, key, field, value}) as a
// plain-text table on stdout and a markdown file.
//
// Usage: node bench/report.mjs RECORDS.jsonl RESULTS.md
import { readFileSync, writeFileSync } from 'node:fs';

const [recordsPath, mdPath] = process.argv.slice(2);
if (!recordsPath || !mdPath) {
  console.error('usage: node bench/report.mjs RECORDS.jsonl RESULTS.md');
  process.exit(2);
}

// sec -> key -> { field: value | value[] }; keys keep their first-seen order.
const data = new Map();
for (const line of readFileSync(recordsPath, 'utf8').split('\n')) {
  if (!line.trim()) continue;
  const { sec, key, field, value } = JSON.parse(line);
  if (!data.has(sec)) data.set(sec, new Map());
  const rows = data.get(sec);
  if (!rows.has(key)) rows.set(key, {});
  const row = rows.get(key);
  if (field === 'sample' || field === 'error' || field === 'json') (row[field] ??= []).push(value);
  else row[field] = value;
}
const section = (name) => data.get(name) ?? new Map();
const fact = (name) => section('fact').get(name)?.value ?? '';

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const quantile = (xs, q) => {
  const s = [...xs].sort((a, b) => a - b);
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  return s[lo] + (s[Math.min(lo + 1, s.length - 1)] - s[lo]) * (pos - lo);
};
const fmt = (x, digits = 1) => (x === undefined || Number.isNaN(x) ? '–' : x.toFixed(digits));
const ratio = (a, b) => (a === undefined || b === undefined || !b ? '–' : `${(a / b).toFixed(2)}×`);
const status = (row) => row.skipped ?? (row.error ? `NOT MEASURED: ${row.error.join('; ')}` : 'NOT MEASURED');

// --- tables ----------------------------------------------------------------------------

const tables = []; // { title, head, rows, notes }
const problems = [];

/** Medians etc. of a hyperfine section: one export per round, the individual runs pooled. */
const timingStats = (sec) => {
  const stats = new Map();
  for (const [key, row] of section(sec)) {
    if (!row.json) continue;
    const ms = row.json.flatMap((path) => JSON.parse(readFileSync(path, 'utf8')).results[0].times.map((t) => t * 1000));
    const mean = ms.reduce((a, b) => a + b, 0) / ms.length;
    const sd = Math.sqrt(ms.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, ms.length - 1));
    stats.set(key, { median: median(ms), p90: quantile(ms, 0.9), min: Math.min(...ms), max: Math.max(...ms), mean, sd, n: ms.length });
  }
  return stats;
};

/** Rows of a hyperfine section; `extra(key, stats)` adds the ratio columns. */
const timingRows = (sec, stats, extra) => {
  const rows = [];
  for (const [key, row] of section(sec)) {
    const s = stats.get(key);
    if (s && row.error) problems.push(`${sec} / ${row.label}: partly measured: ${row.error.join('; ')}`);
    if (!s) {
      rows.push([row.label, status(row)]);
      if (!row.skipped) problems.push(`${sec} / ${row.label}: ${status(row)}`);
      continue;
    }
    rows.push([row.label, fmt(s.median), fmt(s.p90), fmt(s.min), fmt(s.max), `${fmt(s.mean)} ± ${fmt(s.sd)}`, String(s.n), ...extra(key, s)]);
  }
  return rows;
};

if (data.has('run')) {
  const stats = timingStats('run');
  const floor = stats.get('floor')?.median;
  const dockerd = stats.get('dockerd')?.median;
  const rows = timingRows('run', stats, (_key, s) => [ratio(s.median, floor), ratio(s.median, dockerd)]);
  const bridged = stats.get('berth-defnet')?.median;
  const none = stats.get('berth')?.median;
  const summary = [];
  if (none && floor) summary.push(`docker CLI → berthd / runc run = ${ratio(none, floor)} (target ≤ 3.00×)`);
  const cli = stats.get('cli-floor')?.median;
  const confined = stats.get('floor-berth')?.median;
  if (none && floor && cli && confined) {
    summary.push(
      `of docker CLI → berthd: the CLI alone ${fmt(cli)} ms, runc with Docker's confinement ${fmt(confined)} ms, the rest (berthd, conmon, runc create and start as two runs) ${fmt(none - cli - confined)} ms; a 3.00× target leaves that rest ${fmt(3 * floor - cli - confined)} ms`,
    );
  }
  if (bridged && none) summary.push(`berth's bridge network path: default bridge / \`--network none\` = ${ratio(bridged, none)} (target ≤ 1.25×)`);
  tables.push({
    title: '1. `run --rm busybox true` latency (ms, wall clock of the client command)',
    head: ['engine', 'median', 'p90', 'min', 'max', 'mean ± sd', 'n', '× runc floor', '× dockerd'],
    rows,
    summary,
    commands: [...section('run')].filter(([, r]) => r.cmd).map(([, r]) => [r.label, r.cmd]),
  });
}

if (data.has('pull')) {
  const stats = new Map();
  for (const [key, row] of section('pull')) {
    if (!row.sample) continue;
    const pulls = row.sample.map((s) => Number(s.split(' ')[0]));
    const runs = row.sample.map((s) => Number(s.split(' ')[1]));
    const totals = row.sample.map((s) => s.split(' ').map(Number).reduce((a, b) => a + b, 0));
    stats.set(key, { pull: median(pulls), run: median(runs), total: median(totals), min: Math.min(...totals), max: Math.max(...totals), n: totals.length });
  }
  const skopeo = stats.get('skopeo')?.total;
  const dockerd = stats.get('dockerd')?.total;
  const rows = [];
  for (const [key, row] of section('pull')) {
    const s = stats.get(key);
    if (!s) {
      rows.push([row.label, status(row)]);
      problems.push(`pull / ${row.label}: ${status(row)}`);
      continue;
    }
    const partial = row.error ? ` (${row.error.length} failed: ${row.error.join('; ')})` : '';
    if (row.error) problems.push(`pull / ${row.label}: ${row.error.join('; ')}`);
    rows.push([row.label + partial, fmt(s.pull, 2), key === 'skopeo' ? '–' : fmt(s.run, 2), fmt(s.total, 2), `${fmt(s.min, 2)}–${fmt(s.max, 2)}`, String(s.n), ratio(s.total, skopeo), ratio(s.total, dockerd)]);
  }
  tables.push({
    title: `2. Cold pull of debian-python until runnable (s, medians; fresh data root each time)`,
    head: ['engine', 'pull', 'first run', 'total', 'total min–max', 'n', '× skopeo floor', '× dockerd'],
    rows,
  });
}

if (data.has('memory')) {
  const mem = section('memory');
  const kb = (key, f = 'rss_kb') => (mem.get(key)?.[f] ? Number(mem.get(key)[f]) : undefined);
  const mib = (x) => (x === undefined ? '–' : (x / 1024).toFixed(1));
  const rows = [];
  for (const [key, row] of mem) {
    if (row.error) {
      rows.push([row.label, status(row)]);
      problems.push(`memory / ${row.label}: ${status(row)}`);
      continue;
    }
    rows.push([row.label, mib(kb(key)), mib(kb(key, 'pss_kb'))]);
  }
  const dockerSum = kb('dockerd-idle') !== undefined && kb('dockerd-ctd-idle') !== undefined ? kb('dockerd-idle') + kb('dockerd-ctd-idle') : undefined;
  const dockerSumPss = kb('dockerd-idle', 'pss_kb') !== undefined && kb('dockerd-ctd-idle', 'pss_kb') !== undefined ? kb('dockerd-idle', 'pss_kb') + kb('dockerd-ctd-idle', 'pss_kb') : undefined;
  if (dockerSum !== undefined) rows.push(['dockerd + its containerd, idle (sum)', mib(dockerSum), mib(dockerSumPss)]);
  const summary = [];
  if (kb('berthd-idle') && dockerSum) summary.push(`berthd idle / (dockerd + containerd) idle RSS = ${ratio(kb('berthd-idle'), dockerSum)}`);
  if (kb('berth-monitor') && kb('dockerd-monitor')) summary.push(`berth's conmon / dockerd's containerd-shim RSS = ${ratio(kb('berth-monitor'), kb('dockerd-monitor'))}`);
  if (kb('berth-monitor') && kb('podman-monitor')) summary.push(`berth's conmon / podman's conmon RSS = ${ratio(kb('berth-monitor'), kb('podman-monitor'))}`);
  tables.push({ title: '3. Memory (MiB; RSS from /proc/PID/status VmRSS, PSS from smaps_rollup)', head: ['process', 'RSS', 'PSS'], rows, summary });
}

for (const [sec, title, target] of [
  ['exec', '4. `exec CTR true` round trip into a running container (ms, wall clock of the client command)', 'docker CLI → berthd / docker CLI → dockerd'],
  ['ps', `5. \`ps -a\` with ${fact('ps_containers') || 'N'} containers, half of them running (ms)`, 'docker CLI → berthd / docker CLI → dockerd'],
]) {
  if (!data.has(sec)) continue;
  const stats = timingStats(sec);
  // Each row is compared with the row named by its `vs` record (default: the docker CLI → dockerd row).
  const rows = timingRows(sec, stats, (key, s) => [ratio(s.median, stats.get(section(sec).get(key).vs ?? 'dockerd')?.median)]);
  const summary = [];
  const b = stats.get('berth')?.median;
  const dd = stats.get('dockerd')?.median;
  if (b && dd) summary.push(`${target} = ${ratio(b, dd)} (target ≤ 0.50×)`);
  const floor = stats.get('floor')?.median;
  const cli = stats.get('cli-floor')?.median;
  if (b && floor && cli && dd) {
    summary.push(
      `of docker CLI → berthd: the CLI alone ${fmt(cli)} ms, runc exec alone ${fmt(floor)} ms, the rest (berthd and conmon) ${fmt(b - cli - floor)} ms; a 0.50× target leaves that rest ${fmt(0.5 * dd - cli - floor)} ms`,
    );
  }
  const ba = stats.get('berth-api')?.median;
  const da = stats.get('dockerd-api')?.median;
  if (ba && da) summary.push(`daemon alone (curl): berthd / dockerd = ${ratio(ba, da)}`);
  tables.push({
    title,
    head: ['client → engine', 'median', 'p90', 'min', 'max', 'mean ± sd', 'n', '× dockerd'],
    rows,
    summary,
    commands: [...section(sec)].filter(([, r]) => r.cmd).map(([, r]) => [r.label, r.cmd]),
  });
}

// --- plain text (stdout) ----------------------------------------------------------------

const textTable = (head, rows) => {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r.length === 2 && i === 1 ? 0 : [...(r[i] ?? '')].length))));
  const line = (cells) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  const out = [line(head), widths.map((w) => '-'.repeat(w)).join('  ')];
  for (const r of rows) out.push(r.length === 2 && head.length > 2 ? `${r[0].padEnd(widths[0])}  ${r[1]}` : line(r));
  return out.join('\n');
};

const text = [];
text.push(`berth benchmark — ${fact('date')} — ${fact('cpu')}, kernel ${fact('kernel')}, cgroups ${fact('cgroups')}`);
text.push(`${fact('settings')}; load average before ${fact('load_before')}, after ${fact('load_after')}; took ${fact('duration')}`);
for (const t of tables) {
  text.push('', t.title, textTable(t.head, t.rows));
  for (const s of t.summary ?? []) text.push(`  ${s}`);
}
if (problems.length) text.push('', 'Not measured / failures:', ...problems.map((p) => `  - ${p}`));
for (const [, row] of section('run')) if (row.skipped) text.push(`  note: ${row.label}: ${row.skipped}`);
console.log(text.join('\n'));

// --- markdown ---------------------------------------------------------------------------

const esc = (s) => String(s).replace(/\|/g, '\\|').replace(/\n/g, ' ');
const mdTable = (head, rows, numeric = true) => {
  const out = [`| ${head.join(' | ')} |`, `| ${head.map((_, i) => (i === 0 || !numeric ? '---' : '---:')).join(' | ')} |`];
  for (const r of rows) {
    const cells = r.length === 2 && head.length > 2 ? [r[0], r[1], ...Array(head.length - 2).fill('')] : r;
    out.push(`| ${cells.map(esc).join(' | ')} |`);
  }
  return out.join('\n');
};

const md = [];
md.push('# berth benchmark results', '');
md.push(`Produced by \`${fact('command').trim()}\` on ${fact('date')} (${fact('settings')}; took ${fact('duration')}).`, '');
md.push('## Machine', '');
md.push(mdTable(['fact', 'value'], [
  ['CPU', fact('cpu')], ['memory', fact('memory')], ['OS', fact('os')], ['kernel', fact('kernel')], ['cgroups', fact('cgroups')],
  ['load average (1/5/15 min) before → after', `${fact('load_before')} → ${fact('load_after')}`],
  ['berth', fact('berth')], ['node', fact('node')], ['runc', fact('runc')], ['conmon', fact('conmon')],
  ['docker CLI', fact('docker_cli')], ['dockerd', fact('dockerd')], ['containerd', fact('containerd')],
  ['podman', fact('podman')], ['skopeo', fact('skopeo')], ['hyperfine', fact('hyperfine')],
  ['registry', fact('registry')], ['busybox image', fact('busybox')],
  ...(fact('debian_python') ? [['debian-python image', fact('debian_python')]] : []),
], false));
for (const t of tables) {
  md.push('', `## ${t.title}`, '', mdTable(t.head, t.rows));
  if (t.summary?.length) md.push('', ...t.summary.map((s) => `- ${s}`));
  if (t.commands?.length) {
    md.push('', '<details><summary>exact commands</summary>', '');
    for (const [label, cmd] of t.commands) md.push(`- ${label}: \`${cmd.replace(/`/g, "'")}\``);
    md.push('', '</details>');
  }
}
const skipped = [...section('run')].filter(([, r]) => r.skipped).map(([, r]) => `${r.label}: ${r.skipped}`);
if (problems.length || skipped.length) {
  md.push('', '## Not measured / failures', '');
  for (const p of [...problems, ...skipped]) md.push(`- ${esc(p)}`);
}
md.push('', '## Method', '');
md.push(
  '- Every engine runs in its own throwaway directory (data/exec roots, sockets, its own containerd for dockerd and another for ctr) and is stopped by PID afterwards; all images come from one loopback `docker-registry` filled by `scripts/fixtures/up.sh` (built with umoci from Debian packages), so every engine runs the same image bytes.',
  '- `run`: hyperfine with `-N` (no shell); the engines take turns in BENCH_ROUNDS rounds (warm-ups before each), so a burst of load from elsewhere hits all of them; each engine runs the same `busybox` image from the registry with no network (`--network none`; dockerd runs with `--bridge=none --iptables=false`; ctr and the runc floor get a fresh netns with only lo). ctr gets `--seccomp` so that it, like berth, docker and podman, applies a default seccomp profile. The floor is `runc run` of the same image rootfs (umoci unpack) with `runc spec`\'s config and `/bin/true`. The extra "default bridge network" row is berth without `--network none`: a CNI bridge attachment per container (bridge + host-local + firewall plugins, DEL after the exit).',
  '- `pull`: each round starts every engine with an empty data root; time = `pull` + the first `run --rm IMG true` (ctr: `ctr images pull --plain-http`, which also unpacks, + `ctr run --rm`). skopeo only downloads (`skopeo copy docker://… dir:`), the floor for transfer + digest verification. Rounds interleave the engines. The registry\'s blobs are in the page cache (not dropped), so this measures the engines, not the disk.',
  '- `exec`: hyperfine `-N` of `exec bench-exec true` against a `sleep 3600` container started with `--network none` in each engine, in rounds like `run`.',
  '- `ps`: each daemon gets BENCH_PS_CONTAINERS `docker create --network none busybox sleep 3600` containers, every other one started; then hyperfine `-N` of `ps -a` (the CLI formats all rows) and of a bare `curl` of GET /containers/json?all=1 (the daemon alone).',
  '- `memory`: a `sleep 600` container per engine; its monitor process is found by container ID on its command line. Idle daemon RSS is taken a few seconds after start + `pull busybox`.',
  '- Other work on this machine (other sessions\' tests) shows up as noise: compare the load averages above.',
);
writeFileSync(mdPath, md.join('\n') + '\n');
