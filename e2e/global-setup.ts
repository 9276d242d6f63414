/**
 * Builds the renderer, starts `demix serve` on a free port with a fixed token and a fresh data
 * folder, sets the output folder to a temp dir, and hands the address to the tests through
 * environment variables (DEMIX_E2E_URL, DEMIX_E2E_TOKEN, DEMIX_E2E_DIR, DEMIX_E2E_OUT).
 * Returns the teardown that stops the bridge and removes the temp folder.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const E2E_TOKEN = 'e2e-token-3f9c2a7d51b84e06';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

async function waitForBridge(base: string, child: ChildProcess, log: () => string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`demix serve exited with code ${child.exitCode}:\n${log()}`);
    try {
      const res = await fetch(`${base}/api/invoke/app:hello`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${E2E_TOKEN}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ contractVersion: 1 }),
      });
      if (res.status === 200) return;
    } catch {
      /* not listening yet */
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`demix serve did not answer within ${timeoutMs / 1000} s:\n${log()}`);
}

export default async function globalSetup(): Promise<() => Promise<void>> {
  if (process.env.DEMIX_E2E_SKIP_BUILD !== '1') {
    const built = spawnSync(process.execPath, [path.join(root, 'node_modules/vite/bin/vite.js'), 'build', '--logLevel', 'warn'], { cwd: root, stdio: 'inherit' });
    if (built.status !== 0) throw new Error('vite build of the renderer failed');
  }
  // Development: reuse a bridge that is already running (DEMIX_E2E_URL + DEMIX_E2E_TOKEN).
  if (process.env.DEMIX_E2E_URL && process.env.DEMIX_E2E_TOKEN) {
    process.env.DEMIX_E2E_DIR ??= mkdtempSync(path.join(os.tmpdir(), 'demix-e2e-'));
    return async () => {};
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), 'demix-e2e-'));
  const dataDir = path.join(dir, 'data');
  const outDir = path.join(dir, 'out');
  mkdirSync(dataDir, { recursive: true });
  mkdirSync(outDir, { recursive: true });
  mkdirSync(path.join(root, 'e2e/artifacts'), { recursive: true });
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;

  let output = '';
  const child = spawn(
    'nice',
    ['-n', '10', process.execPath, path.join(root, 'bin/demix.js'), 'serve', '--port', String(port), '--token', E2E_TOKEN, '--data-dir', dataDir],
    { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, DEMIX_BRIDGE_TOKEN: E2E_TOKEN } },
  );
  const logFile = path.join(root, 'e2e/artifacts/bridge.log');
  const append = (b: Buffer) => {
    output += b.toString();
    if (output.length > 200_000) output = output.slice(-100_000);
  };
  child.stdout!.on('data', append);
  child.stderr!.on('data', append);

  await waitForBridge(base, child, () => output, 60_000);
  const res = await fetch(`${base}/api/invoke/settings:set`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${E2E_TOKEN}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ outputDir: outDir, concurrency: 1, format: 'wav', bits: 16, twoStems: null, shifts: 0 }),
  });
  const set = (await res.json()) as { ok: boolean; error?: { message: string } };
  if (!set.ok) throw new Error(`settings:set failed: ${set.error?.message}`);

  process.env.DEMIX_E2E_URL = base;
  process.env.DEMIX_E2E_TOKEN = E2E_TOKEN;
  process.env.DEMIX_E2E_DIR = dir;
  process.env.DEMIX_E2E_OUT = outDir;

  return async () => {
    writeFileSync(logFile, output);
    if (child.exitCode === null) {
      child.kill('SIGTERM');
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => {
          child.kill('SIGKILL');
          resolve();
        }, 8000);
        child.once('exit', () => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    if (process.env.DEMIX_E2E_KEEP !== '1') rmSync(dir, { recursive: true, force: true });
  };
}
