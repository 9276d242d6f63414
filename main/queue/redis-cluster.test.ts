/**
 * BullMQ on a real `redis-server` with real `demix worker` processes (the fake engine worker, a
 * test double, inside them): a worker SIGKILLed mid-job → its job finishes on the other worker
 * with exactly one stem set and no partial files; a Redis restart mid-batch → the batch completes;
 * a wrong URL, password or host → one clear line.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Job } from '../../preload/contract.ts';
import type { Core } from '../core.ts';
import { runCli } from '../../testing/cli-harness.ts';
import { FAKE_WORKER, REPO_ROOT, fakeCore, listFiles, makeInputs, tempDir, waitFor, waitIdle } from '../../testing/test-harness.ts';
import { freePort, redisMissing, startRedis, type RedisServer } from './redis-server.test-support.ts';

const missing = redisMissing();
const BIN = path.join(REPO_ROOT, 'bin', 'demix.js');

const children: ChildProcess[] = [];
const cores: Core[] = [];
const servers: RedisServer[] = [];
afterEach(async () => {
  for (const c of cores.splice(0)) await c.close();
  for (const ch of children.splice(0)) if (ch.exitCode === null && ch.signalCode === null) ch.kill('SIGKILL');
});
afterAll(async () => {
  for (const s of servers.splice(0)) await s.stop();
});

/** A `demix worker` process; resolves once it says it takes jobs. */
async function workerProcess(url: string, host: string, fake: object, extraEnv: Record<string, string> = {}): Promise<ChildProcess & { log: () => string }> {
  const child = spawn(process.execPath, [BIN, 'worker', '--queue', url, '--concurrency', '1'], {
    env: {
      ...process.env,
      DEMIX_WORKER_SCRIPT: FAKE_WORKER,
      DEMIX_FAKE_WORKER: JSON.stringify(fake),
      DEMIX_WORKER_HOST: host,
      DEMIX_REDIS_LOCK_MS: '2000',
      DEMIX_REDIS_STALLED_MS: '1000',
      ...extraEnv,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let log = '';
  child.stdout!.on('data', (d) => (log += d));
  child.stderr!.on('data', (d) => (log += d));
  await waitFor(() => log.includes('takes jobs from') || child.exitCode !== null, 60_000, `worker ${host} to start`);
  if (child.exitCode !== null) throw new Error(`worker ${host} exited: ${log}`);
  return Object.assign(child, { log: () => log });
}

const cli = (args: string[]) => runCli(args);

/** Stem files of a job folder: exactly one set, no partials. */
function stemSet(dir: string): string[] {
  return fs.readdirSync(dir).sort();
}

describe.skipIf(!!missing)('BullMQ on Redis with worker processes', () => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await startRedis({ aof: true });
    servers.push(redis);
  }, 30_000);

  it('a worker SIGKILLed mid-job: its job finishes on the other worker, one stem set, no partials', async () => {
    // The lock as in production: from the segment time each worker measures when it starts (the
    // fake engine's 250 ms), with the floor lowered so the test waits seconds, not a minute.
    const fake = { segments: 10, segmentMs: 250, stemSeconds: 0.01 };
    const measured = (host: string) => ({ DEMIX_REDIS_LOCK_MS: '', DEMIX_REDIS_STALLED_MS: '', DEMIX_REDIS_LOCK_FLOOR_MS: '1000', DEMIX_CACHE_DIR: path.join(tempDir(), host) });
    const a = await workerProcess(redis.url, 'host-a', fake, measured('host-a'));
    const b = await workerProcess(redis.url, 'host-b', fake, measured('host-b'));
    for (const w of [a, b]) expect(w.log()).toMatch(/job lock \d+\.\d s \(8 × one segment of 0\.\d s, measured, or the floor\), stalled check every \d+\.\d s/);
    const root = tempDir();
    const inputs = makeInputs(root, ['s1.mp3', 's2.mp3', 's3.mp3', 's4.mp3']);
    const core = await fakeCore(path.join(root, 'data'), { queueUrl: redis.url });
    cores.push(core);
    const history = new Map<string, string[]>();
    core.bus.on('job-updated', (j) => {
      const l = history.get(j.id) ?? [];
      const tag = `${j.status}${j.workerHost ? `@${j.workerHost}` : ''}`;
      if (j.status !== 'running' || l[l.length - 1] !== tag) if (l[l.length - 1] !== tag) l.push(tag);
      history.set(j.id, l);
    });
    const { jobs } = await core.jobs.addPaths(inputs, { outputDir: path.join(root, 'out') });
    expect(jobs).toHaveLength(4);
    // Wait for a job on host-a that has written its partial files, then kill host-a.
    const victim = await waitFor(
      () => {
        const j = core.jobs.list({ status: ['running'], limit: 10, offset: 0 }).jobs.find((x) => x.workerHost === 'host-a' && x.progress >= 0.2);
        return j && fs.existsSync(j.outputDir!) && fs.readdirSync(j.outputDir!).some((f) => f.endsWith('.partial')) ? j : null;
      },
      60_000,
      'a job with partial files on host-a',
    );
    a.kill('SIGKILL');
    await waitIdle(core, 120_000);
    const all = core.jobs.getMany(jobs.map((j) => j.id));
    expect(all.map((j) => j.status)).toEqual(['done', 'done', 'done', 'done']);
    const after = core.jobs.get(victim.id);
    expect(after.workerHost).toBe('host-b');
    expect(history.get(victim.id)).toContain('queued'); // back to the queue when host-a's lock expired
    for (const j of all) expect(stemSet(j.outputDir!)).toEqual(['bass.wav', 'drums.wav', 'other.wav', 'vocals.wav']);
    expect(listFiles(path.join(root, 'out')).filter((f) => f.includes('.partial'))).toEqual([]);
    expect(b.log()).toContain('✓');
  }, 240_000);

  it('a Redis restart mid-batch: the batch completes, nothing lost or doubled', async () => {
    const fake = { segments: 5, segmentMs: 100, stemSeconds: 0.01 };
    await workerProcess(redis.url, 'host-c', fake, { DEMIX_REDIS_LOCK_MS: '10000', DEMIX_REDIS_STALLED_MS: '5000' });
    const root = tempDir();
    const inputs = makeInputs(root, Array.from({ length: 12 }, (_, i) => `r${i}.mp3`));
    const warnings: string[] = [];
    const core = await fakeCore(path.join(root, 'data'), { queueUrl: redis.url, onWarning: (m) => warnings.push(m) });
    cores.push(core);
    const { jobs } = await core.jobs.addPaths(inputs, { outputDir: path.join(root, 'out') });
    await waitFor(() => core.jobs.getMany(jobs.map((j) => j.id)).filter((j) => j.status === 'done').length >= 2, 60_000, 'two jobs done');
    await redis.restart();
    await waitIdle(core, 120_000);
    const all = core.jobs.getMany(jobs.map((j) => j.id));
    expect(all.filter((j) => j.status !== 'done').map((j) => `${j.name} ${j.status} ${j.error?.message}`)).toEqual([]);
    for (const j of all) expect(stemSet(j.outputDir!)).toEqual(['bass.wav', 'drums.wav', 'other.wav', 'vocals.wav']);
    // The submitter said once that Redis went away, and that it came back.
    expect(warnings.filter((w) => /lost the connection to Redis/.test(w)).length).toBeGreaterThanOrEqual(1);
    expect(warnings.some((w) => /reconnected to Redis/.test(w))).toBe(true);
  }, 240_000);

  it('a wrong URL, password or host: one clear line, exit code 1, nothing queued', async () => {
    const secured = await startRedis({ password: 's3cret' });
    servers.push(secured);
    const root = tempDir();
    const [input] = makeInputs(root, ['x.mp3']);
    const closed = await freePort();
    const cases: [string, RegExp][] = [
      [`http://127.0.0.1:${secured.port}`, /is not a Redis URL \(http\): use redis:\/\//],
      [`redis://:wrong@127.0.0.1:${secured.port}`, /password was refused/],
      [`redis://127.0.0.1:${secured.port}`, /needs a password/],
      [`redis://127.0.0.1:${closed}`, /connection refused by 127\.0\.0\.1:\d+: is redis-server running there/],
      ['redis://no-such-host.invalid:6379', /cannot be resolved/],
    ];
    for (const [url, want] of cases) {
      const r = await cli(['separate', input, '-o', path.join(root, 'out'), '--data-dir', path.join(root, 'data'), '--queue', url]);
      expect(r.code, url).toBe(1);
      const lines = r.stderr.trim().split('\n');
      expect(lines, url).toHaveLength(1);
      expect(lines[0]).toMatch(/^demix: Cannot use the Redis queue at |^demix: The queue address/);
      expect(lines[0]).toMatch(want);
      expect(lines[0]).not.toContain('wrong'); // never the password
      const w = await cli(['worker', '--queue', url]);
      expect(w.code, url).toBe(1);
      expect(w.stderr.trim().split('\n')).toHaveLength(1);
    }
    // Right password: it works.
    const ok = await cli(['jobs', '--data-dir', path.join(root, 'data'), '--queue', `redis://:s3cret@127.0.0.1:${secured.port}`]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('No jobs.');
  }, 120_000);
});

if (missing) {
  describe('BullMQ on Redis with worker processes', () => {
    it.skip(`skipped: ${missing}`, () => {});
  });
}

export type { Job };
