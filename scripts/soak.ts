/**
 * Soak (`npm run bench -- --soak`; not part of `npm test`): 200 short jobs through a real runner
 * process (a core with the fake engine worker — a test double: the soak exercises the queue, not
 * the model), while a second process randomly cancels, retries, reorders and pauses, and the
 * runner is SIGKILLed twice and restarted. At the end: every job is done, failed or canceled;
 * each done job has exactly one complete stem set; no partial files; no job ran twice at once.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createCore } from '../main/core.ts';
import { FAKE_WORKER, listFiles } from '../testing/test-harness.ts';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const N = 200;
const STEMS = ['bass.wav', 'drums.wav', 'other.wav', 'vocals.wav'];

export async function runSoak(): Promise<number> {
  const t0 = Date.now();
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'demix-soak-'));
  const data = path.join(root, 'data');
  const out = path.join(root, 'out');
  const log = path.join(root, 'worker.log');
  const inputs: string[] = [];
  for (let i = 0; i < N; i++) {
    const name = i % 25 === 7 ? `track${i}-fail.mp3` : `track${i}.mp3`;
    const p = path.join(root, 'in', `d${i % 5}`, name);
    fs.mkdirSync(path.dirname(p), { recursive: true });
    fs.writeFileSync(p, `soak input ${i}`);
    inputs.push(p);
  }
  process.env.DEMIX_FAKE_WORKER = JSON.stringify({ segments: 4, segmentMs: 15, stemSeconds: 0.02, log, logTimes: true });
  const ctl = await createCore({ dataDir: data, host: 'cli', appVersion: 'soak', workerScript: FAKE_WORKER, startQueue: false, pollMs: 100, onWarning: () => {} });
  ctl.settings.set({ concurrency: 2 });

  const deaths = new Map<number, number>(); // runner pid → time it ended
  let runner: ChildProcess | null = null;
  const startRunner = async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(repo, 'testing', 'runner.test-double.ts')], {
      cwd: repo,
      env: { ...process.env, DEMIX_TEST_RUNNER: JSON.stringify({ dataDir: data, pollMs: 50 }) },
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    child.once('exit', () => deaths.set(child.pid!, Date.now()));
    let text = '';
    await new Promise<void>((resolve, reject) => {
      child.stdout!.on('data', (d) => {
        text += d;
        if (text.includes('ready')) resolve();
      });
      child.once('exit', (c) => reject(new Error(`runner exited early (${c})`)));
    });
    if (!text.includes('ready runner')) throw new Error(`runner did not get the lock: ${text}`);
    runner = child;
  };
  await startRunner();

  const { jobs } = await ctl.jobs.addPaths(inputs, { outputDir: out });
  const ids = jobs.map((j) => j.id);
  const ops = { cancel: 0, retry: 0, reorder: 0, pause: 0, kill: 0, conflicts: 0 };
  const retries = new Map<string, number>();
  const pick = <T>(a: T[]): T | undefined => a[Math.floor(Math.random() * a.length)];
  const finals = () => ctl.jobs.list({ limit: 10_000, offset: 0 }).jobs;
  const killAt = [Math.floor(N * 0.3), Math.floor(N * 0.6)];

  // Chaos while the queue works.
  while (true) {
    const all = finals();
    const by = (s: string) => all.filter((j) => j.status === s);
    const finished = all.length - by('queued').length - by('running').length;
    if (ops.kill < killAt.length && finished >= killAt[ops.kill]) {
      const r = runner as ChildProcess | null;
      r?.kill('SIGKILL');
      await new Promise((res) => r?.once('exit', res));
      ops.kill++;
      await new Promise((res) => setTimeout(res, 200));
      await startRunner();
      continue;
    }
    if (ops.kill >= killAt.length && finished === N) break;
    const roll = Math.random();
    try {
      if (roll < 0.08) {
        const j = pick([...by('queued'), ...by('running')]);
        if (j) {
          ctl.jobs.cancel(j.id);
          ops.cancel++;
        }
      } else if (roll < 0.16) {
        const j = pick([...by('failed'), ...by('canceled')].filter((x) => (retries.get(x.id) ?? 0) < 2));
        if (j) {
          ctl.jobs.retry(j.id);
          retries.set(j.id, (retries.get(j.id) ?? 0) + 1);
          ops.retry++;
        }
      } else if (roll < 0.3) {
        const q = by('queued');
        const j = pick(q);
        const before = pick(q);
        if (j) {
          ctl.jobs.reorder(j.id, before && before.id !== j.id ? before.id : null);
          ops.reorder++;
        }
      } else if (roll < 0.32) {
        (runner as ChildProcess | null)?.stdin?.write('pause\n');
        await new Promise((res) => setTimeout(res, 150));
        (runner as ChildProcess | null)?.stdin?.write('resume\n');
        ops.pause++;
      }
    } catch {
      ops.conflicts++; // the state changed between the read and the action (a CONFLICT answer): fine
    }
    await new Promise((res) => setTimeout(res, 20));
  }
  // Let the last answers land, then stop the runner gracefully.
  await new Promise((res) => setTimeout(res, 500));
  const r = runner as ChildProcess | null;
  r?.kill('SIGTERM');
  await new Promise((res) => r?.once('exit', res));

  // ---- checks ----
  const problems: string[] = [];
  const all = ctl.jobs.getMany(ids);
  const counts = { done: 0, failed: 0, canceled: 0 };
  for (const j of all) {
    if (j.status === 'done' || j.status === 'failed' || j.status === 'canceled') counts[j.status]++;
    else problems.push(`${j.name} ended ${j.status}`);
    if (j.status === 'done') {
      const names = j.stems.map((s) => path.basename(s.path)).sort();
      if (JSON.stringify(names) !== JSON.stringify(STEMS)) problems.push(`${j.name}: stems on record ${names.join(',')}`);
      const onDisk = fs.existsSync(j.outputDir!) ? fs.readdirSync(j.outputDir!).sort() : [];
      if (JSON.stringify(onDisk) !== JSON.stringify(STEMS)) problems.push(`${j.name}: folder holds ${onDisk.join(',') || 'nothing'}`);
      for (const s of j.stems) {
        const size = fs.existsSync(s.path) ? fs.statSync(s.path).size : -1;
        const want = 44 + Math.round(0.02 * 44100) * 4;
        if (size !== want) problems.push(`${s.path}: ${size} bytes, want ${want} (incomplete)`);
      }
    } else if (j.stems.length) problems.push(`${j.name} is ${j.status} but has stems on record`);
  }
  const partials = listFiles(out).filter((f) => f.includes('.partial'));
  if (partials.length) problems.push(`${partials.length} partial files left, e.g. ${partials[0]}`);
  // Runs per job from the worker log: [start, end] (end = its answer, or its runner's death).
  const runs = new Map<string, { start: number; end: number; pid: number }[]>();
  const open = new Map<string, { start: number; pid: number }>();
  for (const line of fs.readFileSync(log, 'utf8').trim().split('\n')) {
    const [ev, id, pidS, tS] = line.split(' ');
    if (!pidS || !tS || !id) continue;
    const pid = Number(pidS);
    const t = Number(tS);
    if (ev === 'run') open.set(`${pid} ${id}`, { start: t, pid });
    else if (ev === 'done' || ev === 'canceled' || ev === 'failed') {
      const o = open.get(`${pid} ${id}`);
      if (o) {
        open.delete(`${pid} ${id}`);
        runs.set(id, [...(runs.get(id) ?? []), { start: o.start, end: t, pid }]);
      }
    }
  }
  for (const [key, o] of open) {
    const id = key.split(' ')[1];
    runs.set(id, [...(runs.get(id) ?? []), { start: o.start, end: deaths.get(o.pid) ?? Date.now(), pid: o.pid }]);
  }
  let concurrent = 0;
  let maxRuns = 0;
  for (const [id, list] of runs) {
    list.sort((a, b) => a.start - b.start);
    maxRuns = Math.max(maxRuns, list.length);
    for (let i = 1; i < list.length; i++) {
      if (list[i].start < list[i - 1].end) {
        concurrent++;
        problems.push(`job ${id} ran twice at once (pids ${list[i - 1].pid} and ${list[i].pid})`);
      }
    }
  }
  await ctl.close();
  const summary = {
    jobs: N,
    ...counts,
    ops,
    runnerKills: ops.kill,
    runsLogged: [...runs.values()].reduce((n, l) => n + l.length, 0),
    mostRunsOfOneJob: maxRuns,
    ranTwiceAtOnce: concurrent,
    partialFiles: partials.length,
    seconds: Math.round((Date.now() - t0) / 1000),
    problems: problems.slice(0, 20),
  };
  console.log(JSON.stringify(summary, null, 2));
  console.log(problems.length ? `SOAK FAILED: ${problems.length} problem(s)` : 'SOAK PASSED');
  if (!problems.length) fs.rmSync(root, { recursive: true, force: true });
  return problems.length ? 1 : 0;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) process.exitCode = await runSoak();
