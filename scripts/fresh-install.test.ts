/**
 * A fresh install as a newcomer has it: the repository's files and node_modules, no dist/ at
 * all (as when postinstall could not build). `demix serve` must build the UI itself and serve
 * the page (never the 503 "not built"), from the TypeScript sources; then, once the CLI bundle
 * is built (what postinstall does), bin/demix.js must run from dist/cli.js and serve the same
 * page, finding the renderer from dist/ and the notices beside it.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'demix-fresh-'));
const app = path.join(tmp, 'demix');
const children: ChildProcess[] = [];

beforeAll(() => {
  // Tracked and new (not ignored) files: what a clone of this branch has.
  const files = spawnSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: repo, encoding: 'utf8' }).stdout.split('\0').filter(Boolean);
  for (const f of files) {
    if (f.startsWith('test/fixtures/') || !fs.existsSync(path.join(repo, f))) continue; // the audio fixtures are not needed here
    fs.mkdirSync(path.dirname(path.join(app, f)), { recursive: true });
    fs.copyFileSync(path.join(repo, f), path.join(app, f));
  }
  fs.symlinkSync(fs.realpathSync(path.join(repo, 'node_modules')), path.join(app, 'node_modules'));
  expect(fs.existsSync(path.join(app, 'dist'))).toBe(false);
});

afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** Starts `node bin/demix.js serve`; resolves with the printed URL and what it said on stderr. */
function serve(env: Record<string, string> = {}): Promise<{ url: string; stderr: string; child: ChildProcess }> {
  const child = spawn(process.execPath, ['bin/demix.js', 'serve', '--port', '0', '--data-dir', path.join(tmp, `data-${children.length}`)], {
    cwd: app,
    env: { ...process.env, DEMIX_DEBUG_START: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  return new Promise((resolve, reject) => {
    const timer = setInterval(() => {
      const m = /serving on (\S+)/.exec(out);
      if (m) {
        clearInterval(timer);
        resolve({ url: m[1], stderr: err, child });
      } else if (child.exitCode !== null) {
        clearInterval(timer);
        reject(new Error(`demix serve exited with ${child.exitCode}:\n${out}\n${err}`));
      }
    }, 100);
  });
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const done = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await done;
}

async function getPage(url: string) {
  const page = await fetch(url);
  const html = await page.text();
  const cookie = page.headers.get('set-cookie')?.split(';')[0] ?? '';
  const notices = await fetch(new URL('third-party-notices.txt', url), { headers: { cookie } });
  return { page, html, notices, noticesText: await notices.text() };
}

describe('npm install, then npx demix serve (no build step)', () => {
  it('from the sources: builds the missing UI on the first serve and answers 200 with the page', async () => {
    const { url, stderr, child } = await serve();
    expect(stderr).toContain('from sources (bundle: not built)');
    expect(stderr).toMatch(/building the UI \(not built\)/);
    const { page, html, notices, noticesText } = await getPage(url);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(html).toMatch(/<script[^>]+src="\.\/assets\/index-[^"]+\.js"/);
    expect(notices.status).toBe(200);
    expect(noticesText).toContain('GPL-3.0-or-later');
    await stop(child);
  }, 240_000);

  it('from the prebuilt CLI bundle (what postinstall builds): serves the same page without rebuilding', async () => {
    const built = spawnSync(process.execPath, ['scripts/build.mjs', '--cli', '--quiet'], { cwd: app, encoding: 'utf8' });
    expect(built.status, built.stderr).toBe(0);
    const version = spawnSync(process.execPath, ['bin/demix.js', '--version'], { cwd: app, encoding: 'utf8', env: { ...process.env, DEMIX_DEBUG_START: '1' } });
    expect(version.stderr).toContain('from dist/cli.js');
    expect(version.stdout.trim()).toBe(JSON.parse(fs.readFileSync(path.join(app, 'package.json'), 'utf8')).version);
    const { url, stderr, child } = await serve();
    expect(stderr).toContain('from dist/cli.js');
    expect(stderr).not.toContain('building the UI');
    const { page, html } = await getPage(url);
    expect(page.status).toBe(200);
    expect(html).toContain('<div id="root"');
    await stop(child);
    // A source edit makes the bundle stale: back to the sources, no stale code runs.
    const later = new Date(Date.now() + 5000);
    fs.utimesSync(path.join(app, 'main', 'cli.ts'), later, later);
    const again = spawnSync(process.execPath, ['bin/demix.js', '--version'], { cwd: app, encoding: 'utf8', env: { ...process.env, DEMIX_DEBUG_START: '1' } });
    expect(again.stderr).toContain('from sources (bundle: main/cli.ts changed)');
    expect(again.status).toBe(0);
  }, 240_000);
});
