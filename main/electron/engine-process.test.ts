/**
 * The app's engine process (Electron's utilityProcess, mocked: a test double that runs a real
 * Node child with an emulated process.parentPort): engine/process-host.mjs takes the utility
 * process's way in, the worker script speaks through it unchanged, crashes come back as errors,
 * terminate() ends it, and the nice value reaches every thread. On Linux a second utility process,
 * the ffmpeg spawner, starts beside it: the engine's tools are the spawner's children.
 */
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { REPO_ROOT } from '../../testing/test-harness.ts';
import { FakeUtilityProcess } from './electron-mock.ts';
import { UtilityEngineWorker, utilityEngineSpawner } from './engine-process.ts';

vi.mock('electron', async () => (await import('./electron-mock.ts')).electronMock);

const HOST = path.join(REPO_ROOT, 'engine', 'process-host.mjs');
const dir = mkdtempSync(path.join(os.tmpdir(), 'demix-utility-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const ECHO = path.join(dir, 'echo.mjs');
writeFileSync(
  ECHO,
  `import { parentPort } from 'node:worker_threads';
await new Promise((r) => setTimeout(r, 200));
parentPort.on('message', (m) => {
  if (m.type === 'crash') setTimeout(() => { throw new Error('utility boom'); });
  else parentPort.postMessage({ echo: m, pid: process.pid, samples: new Float32Array([0.25]) });
});
`,
);

const TOOL = path.join(REPO_ROOT, 'testing', 'tool-spawn-worker.test-double.mjs');

const next = <T,>(w: UtilityEngineWorker, event: string) => new Promise<T>((resolve) => w.once(event, resolve));

describe('UtilityEngineWorker (electron mocked)', () => {
  it('starts the host as a utility process; the worker script answers through process.parentPort', async () => {
    const w = utilityEngineSpawner(HOST)(ECHO, { nice: 0 }) as UtilityEngineWorker;
    expect(FakeUtilityProcess.forks.at(-1)).toMatchObject({ modulePath: HOST, args: [ECHO], options: { serviceName: 'Demix engine' } });
    const reply = next<{ echo: unknown; pid: number; samples: Float32Array }>(w, 'message');
    w.postMessage({ type: 'init', modelId: 'x' });
    const m = await reply;
    expect(m.echo).toEqual({ type: 'init', modelId: 'x' });
    expect(m.pid).toBe(w.child.pid);
    expect(m.samples).toBeInstanceOf(Float32Array);
    expect(await w.terminate()).toBe(128 + os.constants.signals.SIGKILL);
  });

  it('a crash in the script is an error event with its message, then the exit', async () => {
    const w = new UtilityEngineWorker(HOST, ECHO);
    const errors: string[] = [];
    w.on('error', (e: Error) => errors.push(e.message));
    const exit = next<number>(w, 'exit');
    w.postMessage({ type: 'crash' });
    expect(await exit).toBe(1);
    expect(errors).toEqual(['utility boom']);
  });

  it.runIf(process.platform === 'linux')('every thread of the engine process runs at the nice value', async () => {
    const w = new UtilityEngineWorker(HOST, ECHO, 10);
    const reply = next(w, 'message');
    w.postMessage({ type: 'ping' });
    await reply;
    const pid = w.child.pid!;
    const nices = readdirSync(`/proc/${pid}/task`).map((t) => Number(readFileSync(`/proc/${pid}/task/${t}/stat`, 'utf8').split(') ')[1].split(' ')[16]));
    expect(new Set(nices)).toEqual(new Set([10]));
    await w.terminate();
  });

  it.runIf(process.platform === 'linux')('a spawner utility process starts beside it, niced like it: the engine’s tools are its children; it ends with the engine', async () => {
    const w = new UtilityEngineWorker(HOST, TOOL, 10);
    const [tools, engine] = FakeUtilityProcess.forks.slice(-2);
    expect(tools).toMatchObject({ modulePath: path.join(REPO_ROOT, 'engine', 'spawner.mjs'), options: { serviceName: 'Demix tools' } });
    expect(engine.options.serviceName).toBe('Demix engine');
    // Where it listens and its secret travel in the environment (a process's argv is world-readable).
    expect(tools.args).toEqual([]);
    const toolsEnv = tools.options.env as NodeJS.ProcessEnv;
    expect(toolsEnv.DEMIX_SPAWNER_ADDRESS).toMatch(/^@demix-spawner-/);
    const env = engine.options.env as NodeJS.ProcessEnv;
    expect(env.DEMIX_SPAWNER_ADDRESS).toBe(toolsEnv.DEMIX_SPAWNER_ADDRESS);
    expect(env.DEMIX_SPAWNER_SECRET).toBe(toolsEnv.DEMIX_SPAWNER_SECRET);
    expect(env.DEMIX_SPAWNER_SECRET!.length).toBeGreaterThanOrEqual(32);
    const spawnerPid = w.spawner!.pid!;

    const reply = next<{ ready: boolean; toolParent: number; pid: number }>(w, 'message');
    w.postMessage({ type: 'go' });
    const m = await reply;
    expect(m.ready).toBe(true);
    expect(m.toolParent).toBe(spawnerPid);
    expect(m.toolParent).not.toBe(m.pid);
    // The spawner's main thread, which starts the tools (they inherit it), runs at the engine's nice value.
    expect(Number(readFileSync(`/proc/${spawnerPid}/stat`, 'utf8').split(') ')[1].split(' ')[16])).toBe(10);

    await w.terminate();
    for (let i = 0; i < 200 && existsSync(`/proc/${spawnerPid}`) && !readFileSync(`/proc/${spawnerPid}/stat`, 'utf8').includes(') Z'); i++) await new Promise((r) => setTimeout(r, 10));
    expect(existsSync(`/proc/${spawnerPid}`) ? readFileSync(`/proc/${spawnerPid}/stat`, 'utf8').split(') ')[1][0] : 'gone').toMatch(/gone|Z/);
  }, 30_000);
});
