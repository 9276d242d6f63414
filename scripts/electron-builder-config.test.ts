/* eslint-disable @typescript-eslint/no-explicit-any -- the parsed YAML configs are untyped */
// electron-builder.yml, checked offline: electron-builder's own loader and JSON-schema
// validation, the security fuses, the targets, and that every path the packaged app relies on
// exists in the repo and is where the runtime looks for it.
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { getModel, locateWeights } from '../models/registry.ts';
import { resolveFfmpeg } from '../engine/ffmpeg.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const builderConfig = require(path.join(path.dirname(require.resolve('app-builder-lib/package.json')), 'out', 'util', 'config', 'config.js')) as {
  getConfig(projectDir: string, configPath: string | null, configFromOptions: unknown): Promise<Record<string, any>>;
  validateConfiguration(config: unknown, debugLogger: { isEnabled: boolean; add(k: string, v: unknown): void }): Promise<void>;
};

const tmp = mkdtempSync(path.join(os.tmpdir(), 'demix-builder-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const load = () => builderConfig.getConfig(root, path.join(root, 'electron-builder.yml'), null);

describe('electron-builder.yml', () => {
  it("passes electron-builder's schema validation", async () => {
    const config = await load();
    await expect(builderConfig.validateConfiguration(config, { isEnabled: false, add() {} })).resolves.toBeUndefined();
    expect(config.appId).toBe('app.demix.desktop');
    expect(config.productName).toBe('Demix');
  });

  it('the schema check really rejects mistakes', async () => {
    const config = await load();
    await expect(builderConfig.validateConfiguration({ ...config, electronFuses: { runAsNod: false } }, { isEnabled: false, add() {} })).rejects.toThrow(/configuration\.electronFuses/);
    await expect(builderConfig.validateConfiguration({ ...config, mac: { ...config.mac, hardenedRuntme: true } }, { isEnabled: false, add() {} })).rejects.toThrow(/configuration\.mac/);
  });

  it('sets the security fuses', async () => {
    const { electronFuses } = await load();
    expect(electronFuses).toMatchObject({
      runAsNode: false,
      enableCookieEncryption: true,
      enableNodeOptionsEnvironmentVariable: false,
      enableNodeCliInspectArguments: false,
      enableEmbeddedAsarIntegrityValidation: true,
      onlyLoadAppFromAsar: true,
    });
  });

  it('targets Windows nsis x64+arm64, macOS dmg+zip arm64+x64 hardened, Linux AppImage+deb', async () => {
    const c = await load();
    const targets = (t: { target: string; arch: string[] }[]) => Object.fromEntries(t.map((x) => [x.target, x.arch]));
    expect(targets(c.win.target)).toEqual({ nsis: ['x64', 'arm64'] });
    expect(targets(c.mac.target)).toEqual({ dmg: ['arm64', 'x64'], zip: ['arm64', 'x64'] });
    expect(Object.keys(targets(c.linux.target))).toEqual(['AppImage', 'deb']);
    expect(c.mac.hardenedRuntime).toBe(true);
    const plist = readFileSync(path.join(root, c.mac.entitlements), 'utf8');
    expect(plist).toContain('com.apple.security.cs.allow-jit');
    expect(plist).toMatch(/^<\?xml/);
  });

  it('associates the common audio types', async () => {
    const { fileAssociations } = await load();
    expect(fileAssociations[0].ext).toEqual(expect.arrayContaining(['mp3', 'wav', 'flac', 'm4a', 'aac', 'ogg', 'opus', 'aiff']));
  });

  it('every path it packages exists or is produced by `npm run build`', async () => {
    const c = await load();
    const icon = readFileSync(path.join(root, c.mac.icon));
    expect(icon.subarray(1, 4).toString()).toBe('PNG');
    expect(icon.readUInt32BE(16)).toBeGreaterThanOrEqual(512); // width
    for (const r of c.extraResources as { from: string }[]) expect(existsSync(path.join(root, r.from)), r.from).toBe(true);
    // What main/electron/main.ts loads is inside the packaged file set.
    const files = JSON.stringify(c.files);
    for (const p of ['dist/electron/**', 'dist/engine-worker.js', 'dist/models/**', 'dist/renderer/**', 'drizzle/**']) expect(files).toContain(p);
    const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
    expect(pkg.main).toBe('dist/electron/main.js');
    expect(c.asarUnpack).toEqual(expect.arrayContaining(['node_modules/onnxruntime-node/**', 'node_modules/better-sqlite3/**', 'dist/engine-worker.js']));
    expect(existsSync(path.join(root, 'drizzle', 'meta', '_journal.json'))).toBe(true);
  });

  it('the packaged resources land where the model registry and the ffmpeg locator look', async () => {
    const c = await load();
    // Lay out a fake `resources/` folder exactly as extraResources describes it.
    const resources = path.join(tmp, 'resources');
    for (const r of c.extraResources as { from: string; to: string; filter?: string[] }[]) {
      const from = path.join(root, r.from);
      if (r.filter) {
        mkdirSync(path.join(resources, r.to), { recursive: true });
        // ffmpeg-static's binary is not downloaded on every machine: stand in the system ffmpeg.
        const name = process.platform === 'win32' ? 'ffmpeg.exe' : 'ffmpeg';
        expect(r.filter).toContain(name);
        const src = existsSync(path.join(from, name)) ? path.join(from, name) : '/usr/bin/ffmpeg';
        if (existsSync(src)) copyFileSync(src, path.join(resources, r.to, name));
      } else {
        mkdirSync(path.dirname(path.join(resources, r.to)), { recursive: true });
        symlinkSync(from, path.join(resources, r.to));
      }
    }
    const manifest = getModel('htdemucs');
    expect(locateWeights(manifest, { resourcesDir: path.join(resources, 'models') })).toBe(path.join(resources, 'models', manifest.weights.file));

    const proc = process as NodeJS.Process & { resourcesPath?: string };
    const saved = { rp: proc.resourcesPath, env: process.env.FFMPEG_PATH };
    try {
      proc.resourcesPath = resources;
      delete process.env.FFMPEG_PATH;
      if (existsSync(path.join(resources, 'ffmpeg', 'ffmpeg'))) {
        expect(resolveFfmpeg({ refresh: true })).toEqual({ path: path.join(resources, 'ffmpeg', 'ffmpeg'), source: 'bundled' });
      }
    } finally {
      proc.resourcesPath = saved.rp;
      if (saved.env !== undefined) process.env.FFMPEG_PATH = saved.env;
      resolveFfmpeg({ refresh: true });
    }
  });
});

describe('release workflow', () => {
  it('builds on the three OSes on a version tag and uploads the installers', () => {
    const yml = readFileSync(path.join(root, '.github', 'workflows', 'release.yml'), 'utf8');
    const jsYaml = require('js-yaml') as { load(s: string): any };
    const wf = jsYaml.load(yml);
    expect(wf.on.push.tags).toEqual(['v*']);
    const job = Object.values(wf.jobs)[0] as any;
    expect(job.strategy.matrix.os).toEqual(expect.arrayContaining(['windows-latest', 'macos-latest', 'ubuntu-latest']));
    const runs = (job.steps as { run?: string }[]).map((s) => s.run ?? '').join('\n');
    expect(runs).toContain('npm ci');
    expect(runs).toContain('npm run dist');
    expect(JSON.stringify(job.steps)).toContain('action-gh-release');
  });
});
