// `npm start` without an Electron binary (as on machines where its download is blocked) must
// stop with one clear line saying how to get it and what works instead.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { electronBinary } from './start.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

describe('npm start', () => {
  it.skipIf(electronBinary() !== null)('explains how to get Electron, and the browser alternative, when the binary is missing', () => {
    const res = spawnSync(process.execPath, ['scripts/start.mjs'], { cwd: root, encoding: 'utf8', timeout: 60_000 });
    expect(res.status).toBe(1);
    const lines = res.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('node node_modules/electron/install.js');
    expect(lines[0]).toContain('npx demix serve');
  });

  it.skipIf(electronBinary() !== null)('uses ELECTRON_OVERRIDE_DIST_PATH when it holds an Electron build', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'demix-electron-dist-'));
    const saved = process.env.ELECTRON_OVERRIDE_DIST_PATH;
    try {
      process.env.ELECTRON_OVERRIDE_DIST_PATH = dir;
      expect(electronBinary()).toBeNull(); // empty folder: still missing
      writeFileSync(path.join(dir, 'electron'), '');
      expect(electronBinary()).toBe(path.join(dir, 'electron'));
    } finally {
      if (saved === undefined) delete process.env.ELECTRON_OVERRIDE_DIST_PATH;
      else process.env.ELECTRON_OVERRIDE_DIST_PATH = saved;
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
