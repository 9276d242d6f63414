/**
 * The engine worker in a process of its own (process-worker.ts + engine/process-host.mjs), with
 * real child processes: a script written for a worker thread runs unchanged; messages sent before
 * it listens are kept; a crash reaches the parent as an 'error' with its message; the process
 * takes the nice value; it ignores Ctrl-C (the parent decides) and ends when the parent dies.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../testing/test-harness.ts';
import { ProcessWorker, processHostPath } from './process-worker.ts';

const dir = mkdtempSync(path.join(os.tmpdir(), 'demix-pw-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// A worker-thread script: answers after slow imports, so 'hello' is sent before it listens.
const ECHO = path.join(dir, 'echo.mjs');
writeFileSync(
  ECHO,
  `import { parentPort, threadId } from 'node:worker_threads';
await new Promise((r) => setTimeout(r, 300));
parentPort.on('message', (m) => {
  if (m.type === 'crash') setTimeout(() => { throw new Error('boom on purpose'); });
  else if (m.type === 'exit') process.exit(m.code);
  else parentPort.postMessage({ echo: m, pid: process.pid, threadId, samples: new Float32Array([0.5, -1]) });
});
`,
);

function next<T>(w: ProcessWorker, event: string): Promise<T> {
  return new Promise((resolve) => w.once(event, resolve));
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function until(fn: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (fn()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return fn();
}

describe('ProcessWorker', () => {
  it('runs a worker-thread script in another process; early messages wait; typed arrays survive', async () => {
    const w = new ProcessWorker(ECHO);
    const reply = next<{ echo: unknown; pid: number; threadId: number; samples: Float32Array }>(w, 'message');
    w.postMessage({ type: 'hello', n: 1 });
    const m = await reply;
    expect(m.echo).toEqual({ type: 'hello', n: 1 });
    expect(m.pid).not.toBe(process.pid);
    expect(m.pid).toBe(w.child.pid);
    expect(m.samples).toBeInstanceOf(Float32Array);
    expect([...m.samples]).toEqual([0.5, -1]);
    const exit = next<number>(w, 'exit');
    w.postMessage({ type: 'exit', code: 7 });
    expect(await exit).toBe(7);
  });

  it('an uncaught error reaches the parent as an error with its message, then the exit', async () => {
    const w = new ProcessWorker(ECHO);
    const events: string[] = [];
    w.on('error', (e: Error) => events.push(`error ${e.message}`));
    const exit = next<number>(w, 'exit');
    w.postMessage({ type: 'crash' });
    expect(await exit).toBe(1);
    expect(events).toEqual(['error boom on purpose']);
  });

  it('terminate() ends it at once', async () => {
    const w = new ProcessWorker(ECHO);
    const pid = w.child.pid!;
    expect(await w.terminate()).toBe(128 + os.constants.signals.SIGKILL);
    expect(alive(pid)).toBe(false);
  });

  it.runIf(process.platform === 'linux')('every thread of the process takes the nice value; SIGINT is ignored', async () => {
    const w = new ProcessWorker(ECHO, { nice: 10 });
    const reply = next(w, 'message');
    w.postMessage({ type: 'ping' });
    await reply;
    const pid = w.child.pid!;
    const nices = readdirSync(`/proc/${pid}/task`).map((t) => Number(readFileSync(`/proc/${pid}/task/${t}/stat`, 'utf8').split(') ')[1].split(' ')[16]));
    expect(nices.length).toBeGreaterThan(1);
    expect(new Set(nices)).toEqual(new Set([10]));
    process.kill(pid, 'SIGINT');
    const again = next<{ echo: unknown }>(w, 'message');
    w.postMessage({ type: 'still there?' });
    expect((await again).echo).toEqual({ type: 'still there?' });
    await w.terminate();
  });

  it('ends by itself when its parent dies (SIGKILL)', async () => {
    const parentScript = path.join(dir, 'parent.ts');
    writeFileSync(
      parentScript,
      `import { ProcessWorker } from ${JSON.stringify(path.join(REPO_ROOT, 'main', 'queue', 'process-worker.ts'))};
const w = new ProcessWorker(${JSON.stringify(ECHO)});
w.on('message', (m) => console.log('child ' + m.pid));
w.postMessage({ type: 'hi' });
setInterval(() => {}, 1000);
`,
    );
    const parent = spawn(process.execPath, ['--import', 'tsx', parentScript], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    parent.stdout.on('data', (d) => (out += d));
    expect(await until(() => /child \d+/.test(out), 30_000)).toBe(true);
    const childPid = Number(/child (\d+)/.exec(out)![1]);
    expect(alive(childPid)).toBe(true);
    parent.kill('SIGKILL');
    expect(await until(() => !alive(childPid), 10_000)).toBe(true);
  }, 60_000);

  it('finds its entry beside the sources and beside a bundle', () => {
    expect(processHostPath(path.join(REPO_ROOT, 'main', 'queue'))).toBe(path.join(REPO_ROOT, 'engine', 'process-host.mjs'));
    const dist = path.join(dir, 'app', 'dist');
    mkdirSync(path.join(dist, 'electron'), { recursive: true });
    writeFileSync(path.join(dist, 'engine-host.mjs'), '');
    expect(processHostPath(dist)).toBe(path.join(dist, 'engine-host.mjs')); // dist/cli.js
    expect(processHostPath(path.join(dist, 'electron'))).toBe(path.join(dist, 'engine-host.mjs')); // dist/electron/main.js
  });
});
