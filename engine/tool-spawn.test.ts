/**
 * ffmpeg started through the engine process's spawner (engine/spawner.mjs, a real process, as
 * engine/process-host.mjs starts it) instead of by this process: decoding gives the same samples
 * as a direct spawn, an encoded file is the same, an aborted decode and a missing binary end
 * cleanly, and an encoder killed mid-write fails the writer with the same clear message. Only the
 * holder of the secret gets an answer; the spawner ends with its engine's connection; without a
 * reachable spawner, tools are spawned directly.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeAudio, probeAudio } from './decode.ts';
import { openAudioWriter } from './encode.ts';
import { collectSamples } from './samples.test-support.ts';
import { spawnerActive, spawnerReady, spawnTool, useSpawner, type SpawnerAddress } from './tool-spawn.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const song = path.join(here, '..', 'test', 'fixtures', 'known-answer', 'song00', 'mixture.flac');
let spawner: ChildProcess;
let where: SpawnerAddress;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'demix-tool-spawn-'));

const decodeAll = (file: string) => collectSamples(decodeAudio(file));

async function encodeFlac(file: string, pcm: Float32Array): Promise<void> {
  const w = await openAudioWriter(file, { format: 'flac', bits: 16 });
  for (let i = 0; i < pcm.length; i += 44100 * 2) await w.write(pcm.subarray(i, Math.min(pcm.length, i + 44100 * 2)));
  await w.finish();
}

/** Pids of live processes that are children of `parent` (Linux /proc). */
function childrenOf(parent: number): number[] {
  return fs
    .readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .filter((d) => {
      try {
        return fs.readFileSync(`/proc/${d}/stat`, 'utf8').split(') ')[1].split(' ')[1] === String(parent);
      } catch {
        return false;
      }
    })
    .map(Number);
}

/** One line to the spawner, and what it answers before it closes the connection (or 500 ms pass). */
function probe(header: object): Promise<{ answer: string; closed: boolean }> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ path: `\0${where.address.slice(1)}` });
    let answer = '';
    s.setEncoding('utf8');
    s.on('data', (d: string) => (answer += d));
    // Refused: the spawner may close before the second line is written (EPIPE), 'close' follows.
    s.on('error', (e: NodeJS.ErrnoException) => (e.code === 'EPIPE' || e.code === 'ECONNRESET' ? undefined : reject(e)));
    const t = setTimeout(() => {
      s.destroy();
      resolve({ answer, closed: false });
    }, 500);
    s.on('close', () => {
      clearTimeout(t);
      resolve({ answer, closed: true });
    });
    s.write(`${JSON.stringify(header)}\n`);
    // A spawn request on the same connection: answered only if the connection was accepted.
    s.write(`${JSON.stringify({ type: 'spawn', id: 999, cmd: '/bin/echo', args: ['pwned'], stdio: ['ignore', 'ignore'] })}\n`);
  });
}

describe.runIf(process.platform === 'linux')('ffmpeg through the spawner process', () => {
  let direct: Float32Array;
  const directFlac = path.join(dir, 'direct.flac');
  beforeAll(async () => {
    // Before the spawner: plain spawns.
    direct = await decodeAll(song);
    await encodeFlac(directFlac, direct);
    where = { address: `@demix-spawner-test-${process.pid}-${randomBytes(6).toString('hex')}`, secret: randomBytes(24).toString('hex') };
    spawner = fork(path.join(here, 'spawner.mjs'), [], {
      execArgv: [],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      env: { ...process.env, DEMIX_SPAWNER_ADDRESS: where.address, DEMIX_SPAWNER_SECRET: where.secret },
    });
    useSpawner(where);
    expect(await spawnerReady()).toBe(true);
  });
  afterAll(() => {
    useSpawner(null);
    spawner?.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('decodes to the same samples, and the decoder is the spawner’s child, not ours', async () => {
    expect(spawnerActive()).toBe(true);
    let seen: number[] = [];
    const poll = setInterval(() => (seen = seen.length ? seen : childrenOf(spawner.pid!)), 2);
    const via = await decodeAll(song);
    clearInterval(poll);
    expect(via.length).toBe(direct.length);
    expect(Buffer.from(via.buffer).equals(Buffer.from(direct.buffer))).toBe(true);
    expect((await probeAudio(song)).sampleRate).toBe(44100);
    expect(seen.length).toBeGreaterThan(0);
  });

  it('encodes the same file as a direct spawn', async () => {
    const a = path.join(dir, 'via.flac');
    await encodeFlac(a, direct);
    expect(Buffer.from((await decodeAll(a)).buffer).equals(Buffer.from((await decodeAll(directFlac)).buffer))).toBe(true);
  });

  it('an aborted decode ends and leaves no decoder; a missing binary is an error then a close', async () => {
    const abort = new AbortController();
    const parts: number[] = [];
    const run = (async () => {
      for await (const b of decodeAudio(song, { signal: abort.signal })) {
        parts.push(b.length);
        abort.abort();
      }
    })().then(
      () => 'ended',
      (e: Error) => e.name,
    );
    expect(['ended', 'AbortError']).toContain(await run);
    expect(parts.length).toBeGreaterThan(0);
    // No decoder is left behind.
    for (let i = 0; i < 200 && childrenOf(spawner.pid!).length; i++) await new Promise((r) => setTimeout(r, 10));
    expect(childrenOf(spawner.pid!)).toEqual([]);

    const t = spawnTool('/nonexistent/ffmpeg', [], ['ignore', 'pipe']);
    const events: string[] = [];
    t.on('error', (e: NodeJS.ErrnoException) => events.push(`error ${e.code}`));
    await new Promise((r) => t.once('close', r));
    expect(events).toEqual(['error ENOENT']);
  });

  it('an encoder killed mid-write fails the writer with the clear message, no partials', async () => {
    const final = path.join(dir, 'killed', 'vocals.flac');
    fs.mkdirSync(path.dirname(final));
    const w = await openAudioWriter(final, { format: 'flac', bits: 16 });
    const block = new Float32Array(44100 * 2).map((_, i) => 0.3 * Math.sin(i / 20));
    for (let s = 0; s < 20; s++) await w.write(block);
    const finishing = w.finish().then(
      () => null,
      (e: Error) => e,
    );
    let pids: number[] = [];
    for (let i = 0; i < 500 && !pids.length; i++) {
      pids = childrenOf(spawner.pid!);
      if (!pids.length) await new Promise((r) => setTimeout(r, 10));
    }
    expect(pids.length).toBe(1);
    process.kill(pids[0], 'SIGSTOP');
    await new Promise((r) => setTimeout(r, 300));
    process.kill(pids[0], 'SIGKILL');
    const err = await Promise.race([finishing, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 10_000).unref())]);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/encoder \(ffmpeg\) was stopped by SIGKILL/);
    expect(fs.readdirSync(path.dirname(final))).toEqual([]);
  }, 30_000);

  it('answers only the holder of the secret, and only one engine', async () => {
    const stream = { role: 'stdio', id: 12_345, fd: 1 };
    // Without the right secret: closed at once, nothing said, nothing spawned.
    for (const secret of [undefined, 'x'.repeat(48), where.secret.slice(0, -1) + (where.secret.endsWith('0') ? '1' : '0')]) {
      expect(await probe({ ...stream, secret })).toEqual({ answer: '', closed: true });
    }
    // With it, a stream is held for its tool (still open after 500 ms)...
    expect(await probe({ ...stream, secret: where.secret })).toEqual({ answer: '', closed: false });
    // ...but a second control connection is refused: one engine per spawner.
    expect(await probe({ role: 'control', secret: where.secret })).toEqual({ answer: '', closed: true });
    expect(spawnerActive()).toBe(true);
    expect((await probeAudio(song)).sampleRate).toBe(44100);
  });

  it('ends with its engine: the control connection closes, the spawner and its tools are gone', async () => {
    const abort = new AbortController();
    const it = decodeAudio(song, { signal: abort.signal })[Symbol.asyncIterator]();
    await it.next(); // a decoder is running
    expect(childrenOf(spawner.pid!).length).toBe(1);
    const tool = childrenOf(spawner.pid!)[0];
    const exited = new Promise<number | null>((r) => spawner.once('exit', (code) => r(code)));
    useSpawner(null); // what the engine's death does to the connection
    expect(await exited).toBe(0);
    for (let i = 0; i < 200 && fs.existsSync(`/proc/${tool}`) && !fs.readFileSync(`/proc/${tool}/stat`, 'utf8').includes(') Z'); i++) await new Promise((r) => setTimeout(r, 10));
    expect(fs.existsSync(`/proc/${tool}`) ? fs.readFileSync(`/proc/${tool}/stat`, 'utf8').split(') ')[1][0] : 'gone').toMatch(/gone|Z/);
    abort.abort();
    await it.return?.(undefined);
  });

  it('no reachable spawner: tools are spawned here, with the same result', async () => {
    useSpawner({ address: path.join(dir, 'not-a-dir.flac', 'socket'), secret: where.secret }); // ENOTDIR at once
    fs.writeFileSync(path.join(dir, 'not-a-dir.flac'), '');
    expect(await spawnerReady()).toBe(false);
    const again = await decodeAll(song);
    expect(Buffer.from(again.buffer).equals(Buffer.from(direct.buffer))).toBe(true);
    const t = spawnTool('/nonexistent/ffmpeg', [], ['ignore', 'pipe']);
    const events: string[] = [];
    t.on('error', (e: NodeJS.ErrnoException) => events.push(`error ${e.code}`));
    await new Promise((r) => t.once('close', r));
    expect(events).toEqual(['error ENOENT']);
  });
});
