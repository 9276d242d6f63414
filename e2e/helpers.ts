/** Shared helpers for the end-to-end specs (bridge address, API calls, fixtures, WAV header check). */
import { existsSync, mkdirSync, openSync, readSync, closeSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, type Page } from '@playwright/test';
import type { Channel, Job, RequestOf, ResponseOf, WireResult } from '../preload/contract.ts';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const ARTIFACTS = path.join(root, 'e2e', 'artifacts');

export function bridge() {
  const url = process.env.DEMIX_E2E_URL;
  const token = process.env.DEMIX_E2E_TOKEN;
  if (!url || !token) throw new Error('DEMIX_E2E_URL/DEMIX_E2E_TOKEN missing: run through `npx playwright test` (global setup starts the bridge).');
  return { url, token, dir: process.env.DEMIX_E2E_DIR!, out: process.env.DEMIX_E2E_OUT! };
}

/** Calls the bridge directly (for setup and for checking what the UI did). */
export async function invoke<C extends Channel>(channel: C, request: RequestOf<C>): Promise<ResponseOf<C>> {
  const { url, token } = bridge();
  const res = await fetch(`${url}/api/invoke/${channel}`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(request),
  });
  const body = (await res.json()) as WireResult<ResponseOf<C>>;
  if (!body.ok) throw new Error(`${channel}: ${body.error.code} ${body.error.message}`);
  return body.value;
}

/** Cancels what is running and removes every job, so a spec starts from an empty queue. */
export async function resetQueue(): Promise<void> {
  await invoke('queue:resume', {});
  const { jobs } = await invoke('jobs:list', { limit: 10_000 });
  for (const j of jobs) if (j.status === 'running' || j.status === 'queued') await invoke('jobs:cancel', { id: j.id }).catch(() => {});
  for (const j of jobs) {
    for (let i = 0; i < 40; i++) {
      try {
        await invoke('jobs:remove', { id: j.id, deleteFiles: false });
        break;
      } catch (e) {
        if (!String(e).includes('CONFLICT')) break;
        await new Promise((r) => setTimeout(r, 250)); // still winding down after cancel
      }
    }
  }
}

/** Path of a known-answer fixture carried by the repository: `test/fixtures/known-answer/<song>/mixture.flac`. */
export function fixture(song: string): string {
  const found = path.resolve(root, 'test', 'fixtures', 'known-answer', song, 'mixture.flac');
  if (!existsSync(found)) throw new Error(`Fixture ${song} not found at ${found}`);
  return found;
}

export async function openApp(page: Page): Promise<void> {
  const { url, token } = bridge();
  await page.goto(`${url}/?token=${encodeURIComponent(token)}`);
  await expect(page.getByRole('navigation', { name: 'Screens' })).toBeVisible();
}

export async function screenshot(page: Page, name: string): Promise<string> {
  const dir = path.join(ARTIFACTS, 'screens');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${name}.png`);
  await page.screenshot({ path: file });
  return file;
}

export async function addByPath(page: Page, p: string): Promise<void> {
  const field = page.getByRole('textbox', { name: 'Add by path' });
  await field.fill(p);
  await field.press('Enter');
}

export function jobRow(page: Page, name: string) {
  return page.getByRole('listitem', { name, exact: true });
}

export async function jobByName(name: string): Promise<Job | undefined> {
  const { jobs } = await invoke('jobs:list', { limit: 10_000 });
  return jobs.find((j) => j.name === name);
}

/** Reads a WAV header (RIFF/WAVE, PCM or float, plain or extensible) without ffprobe. */
export function wavInfo(file: string): { channels: number; sampleRate: number; bitsPerSample: number; durationSec: number } {
  const fd = openSync(file, 'r');
  try {
    const head = Buffer.alloc(65536);
    const n = readSync(fd, head, 0, head.length, 0);
    if (head.toString('ascii', 0, 4) !== 'RIFF' || head.toString('ascii', 8, 12) !== 'WAVE') throw new Error(`${file} is not a RIFF/WAVE file`);
    let off = 12;
    let fmt: { channels: number; sampleRate: number; byteRate: number; bitsPerSample: number } | null = null;
    while (off + 8 <= n) {
      const id = head.toString('ascii', off, off + 4);
      const size = head.readUInt32LE(off + 4);
      if (id === 'fmt ') {
        fmt = { channels: head.readUInt16LE(off + 10), sampleRate: head.readUInt32LE(off + 12), byteRate: head.readUInt32LE(off + 16), bitsPerSample: head.readUInt16LE(off + 22) };
      } else if (id === 'data') {
        if (!fmt) throw new Error('data chunk before fmt chunk');
        const available = statSync(file).size - (off + 8);
        // Streaming writers may leave 0 or 0xFFFFFFFF as the size: fall back to the bytes present.
        const dataBytes = size === 0 || size === 0xffffffff || size > available ? available : size;
        return { channels: fmt.channels, sampleRate: fmt.sampleRate, bitsPerSample: fmt.bitsPerSample, durationSec: dataBytes / fmt.byteRate };
      }
      off += 8 + size + (size % 2);
    }
    throw new Error(`${file}: no data chunk in the first 64 KiB`);
  } finally {
    closeSync(fd);
  }
}
