/**
 * ffmpeg started through the engine process's spawner (engine/spawner.mjs, a real process, as
 * engine/process-host.mjs starts it) instead of by this process: decoding gives the same samples
 * as a direct spawn, an encoded file is the same, an aborted decode and a missing binary end
 * cleanly, and an encoder killed mid-write fails the writer with the same clear message.
 */
import { fork, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeAudio, probeAudio } from './decode.ts';
import { openAudioWriter } from './encode.ts';
import { collectSamples } from './samples.test-support.ts';
import { spawnerActive, spawnTool } from './tool-spawn.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const song = path.join(here, '..', 'test', 'fixtures', 'known-answer', 'song00', 'mixture.flac');
const g = globalThis as { __demixSpawner?: ChildProcess };
let spawner: ChildProcess;
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

describe.runIf(process.platform === 'linux')('ffmpeg through the spawner process', () => {
  let direct: Float32Array;
  beforeAll(async () => {
    direct = await decodeAll(song); // before the spawner: a plain spawn
    spawner = fork(path.join(here, 'spawner.mjs'), [], { execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    await new Promise((r) => spawner.once('spawn', r));
    g.__demixSpawner = spawner;
  });
  afterAll(() => {
    delete g.__demixSpawner;
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
    delete g.__demixSpawner;
    const b = path.join(dir, 'direct.flac');
    try {
      await encodeFlac(b, direct);
    } finally {
      g.__demixSpawner = spawner;
    }
    expect(Buffer.from((await decodeAll(a)).buffer).equals(Buffer.from((await decodeAll(b)).buffer))).toBe(true);
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
});
