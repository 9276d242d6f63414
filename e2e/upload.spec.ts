/**
 * Browser uploads through the real bridge and engine: a song picked with the file input (upload
 * progress → separation → player), the same song dropped as a File (answered from the cache), a
 * folder (one batch mirroring its tree), an upload canceled half-way (nothing left on disk), a
 * non-audio file (a clear message), and an upload without the token (401). Screenshots of the
 * upload row at 800×600 and 1280×800, light and dark.
 *
 * Short clips (3.5 s) are cut from the known-answer fixtures with ffmpeg; uploads are slowed
 * down with Chromium's network throttling so their progress can be seen.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { expect, test, type BrowserContext, type Page } from '@playwright/test';
import { bridge, fixture, invoke, jobByName, jobRow, openApp, resetQueue, screenshot } from './helpers.ts';

let clips: string;

function cut(song: string, start: number, out: string) {
  mkdirSync(path.dirname(out), { recursive: true });
  const r = spawnSync(process.env.FFMPEG_PATH ?? 'ffmpeg', ['-v', 'error', '-y', '-ss', String(start), '-t', '3.5', '-i', fixture(song), '-c:a', 'flac', out]);
  if (r.status !== 0) throw new Error(`ffmpeg could not cut ${song}: ${r.stderr}`);
}

/** Every file under the bridge's uploads area (partial files included). */
function uploadedFiles(): string[] {
  const root = path.join(bridge().dir, 'data', 'uploads');
  const out: string[] = [];
  const walk = (d: string) => {
    if (!existsSync(d)) return;
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.push(path.relative(root, p));
    }
  };
  walk(root);
  return out.sort();
}

/** Slows uploads down (bytes per second; -1 = no limit). */
async function throttleUploads(context: BrowserContext, page: Page, bytesPerSec: number) {
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: bytesPerSec });
  return cdp;
}

test.beforeAll(() => {
  clips = path.join(bridge().dir, 'upload-clips');
  cut('song01', 2, path.join(clips, 'Clip One.flac'));
  cut('song02', 4, path.join(clips, 'Album', 'cd1', 'Two.flac'));
  cut('song00', 1, path.join(clips, 'Album', 'cd2', 'Three.flac'));
  writeFileSync(path.join(clips, 'Album', 'cover.jpg'), 'not a picture either');
  writeFileSync(path.join(clips, 'notes.txt'), 'lyrics, not audio\n');
  writeFileSync(path.join(clips, 'mystery'), '<!doctype html><p>a web page saved without a name</p>\n');
});

test.beforeEach(async () => {
  await resetQueue();
});

test('upload a song with "Add songs…": progress, separation, player; then drop the same File (cache)', async ({ page, context }) => {
  test.setTimeout(600_000); // one real separation; on a loaded 2-core machine the model can take minutes to start
  await openApp(page);
  const size = statSync(path.join(clips, 'Clip One.flac')).size;
  const cdp = await throttleUploads(context, page, Math.round(size / 4)); // ~4 s
  await page.getByTestId('upload-songs').setInputFiles(path.join(clips, 'Clip One.flac'));

  const row = jobRow(page, 'Clip One.flac');
  await test.step('upload progress in the queue row', async () => {
    const bar = row.getByRole('progressbar', { name: 'Upload of Clip One.flac' });
    await expect(bar).toBeVisible();
    await expect.poll(async () => Number(await bar.getAttribute('aria-valuenow').catch(() => '100')), { timeout: 15_000 }).toBeGreaterThan(0);
    await expect(row.getByText(/Uploading \d+%/)).toBeVisible();
    await screenshot(page, '40-upload-progress');
  });
  await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });

  // The job's own row (the upload row can linger for a moment while jobs:add-upload answers).
  const jobRowOf = (name: string) => page.locator(`li[data-job-id][aria-label="${name}"]`);
  await test.step('then separation, then the player', async () => {
    const row = jobRowOf('Clip One.flac');
    await expect(row).toHaveAttribute('data-status', /queued|running|done/, { timeout: 30_000 });
    await expect(row).toHaveAttribute('data-status', 'done', { timeout: 540_000 });
    const job = (await jobByName('Clip One.flac'))!;
    expect(job.outputDir).toBe(path.join(bridge().out, 'htdemucs', 'Clip One'));
    expect(readFileSync(job.inputPath).equals(readFileSync(path.join(clips, 'Clip One.flac')))).toBe(true);
    await row.getByRole('button', { name: 'Open stems of Clip One.flac' }).click();
    await expect(page.getByRole('heading', { name: 'Clip One.flac' })).toBeVisible();
    for (const stem of ['Drums', 'Bass', 'Other', 'Vocals']) {
      await expect(page.getByRole('group', { name: `${stem} track` })).toBeVisible();
      await expect.poll(() => page.locator(`[role=img][aria-label="${stem} waveform"]`).getAttribute('data-peaks').then(Number)).toBeGreaterThan(0);
    }
    await page.getByRole('navigation', { name: 'Screens' }).getByRole('button', { name: 'Queue' }).click();
  });

  await test.step('a synthetic drop of a File with the same content uploads it and hits the cache', async () => {
    const bytes = readFileSync(path.join(clips, 'Clip One.flac')).toString('base64');
    await page.evaluate((b64) => {
      const bin = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      const dt = new DataTransfer();
      dt.items.add(new File([bin], 'Dropped Again.flac', { type: 'audio/flac' }));
      for (const type of ['dragenter', 'dragover', 'drop']) document.body.dispatchEvent(new DragEvent(type, { dataTransfer: dt, bubbles: true, cancelable: true }));
    }, bytes);
    const dropped = jobRowOf('Dropped Again.flac');
    // The drop uploads the File, enqueues it and completes from the content-hash cache.
    await expect(dropped).toHaveAttribute('data-status', /queued|running|done/, { timeout: 60_000 });
    const job = (await jobByName('Dropped Again.flac'))!;
    expect(readFileSync(job.inputPath).equals(readFileSync(path.join(clips, 'Clip One.flac')))).toBe(true);
    await expect(dropped).toHaveAttribute('data-status', 'done', { timeout: 60_000 });
    expect((await jobByName('Dropped Again.flac'))!.provider).toBe('cache');
  });

  await test.step('removing the jobs removes the uploaded originals (stems stay)', async () => {
    const stems = (await jobByName('Clip One.flac'))!.stems.map((s) => s.path);
    await resetQueue();
    expect(uploadedFiles()).toEqual([]);
    for (const s of stems) expect(existsSync(s)).toBe(true);
  });
});

test('upload a folder: one batch mirroring its tree, non-audio left out', async ({ page }) => {
  await openApp(page);
  await page.getByTestId('upload-folder').setInputFiles(path.join(clips, 'Album'));
  const batch = page.getByRole('listitem', { name: 'Folder Album' });
  await expect(batch).toBeVisible({ timeout: 30_000 });
  await expect(jobRow(page, 'Two.flac')).toBeVisible();
  await expect(jobRow(page, 'Three.flac')).toBeVisible();
  await expect(batch.getByText(path.join('cd1', 'Two.flac'))).toBeVisible();
  await screenshot(page, '41-upload-folder');
  // The output folders (fixed at enqueue time) mirror the tree, as for a path-added folder; the
  // separation itself is the same as for any job (first test), so it is not waited for here.
  const { jobs, batches } = await invoke('jobs:list', { limit: 100 });
  expect(batches).toHaveLength(1);
  expect(jobs.every((j) => j.batchId === batches[0].id)).toBe(true);
  expect(jobs.map((j) => path.relative(path.join(bridge().out, 'htdemucs'), j.outputDir!)).sort()).toEqual([path.join('cd1', 'Two'), path.join('cd2', 'Three')]);
  expect(uploadedFiles().filter((f) => !f.startsWith('.partial')).map((f) => f.split(path.sep).slice(1).join('/')).sort()).toEqual(['Album/cd1/Two.flac', 'Album/cd2/Three.flac']);
});

test('an upload canceled half-way leaves nothing; the upload row at 800×600 and 1280×800, light and dark', async ({ page, context }) => {
  await openApp(page);
  const file = path.join(clips, 'Clip One.flac');
  const cdp = await throttleUploads(context, page, Math.round(statSync(file).size / 40)); // ~40 s
  await page.getByTestId('upload-songs').setInputFiles(file);
  const row = jobRow(page, 'Clip One.flac');
  const bar = row.getByRole('progressbar', { name: 'Upload of Clip One.flac' });
  await expect.poll(async () => Number(await bar.getAttribute('aria-valuenow')), { timeout: 20_000 }).toBeGreaterThan(0);
  // Bytes are arriving on the bridge (a partial file) …
  await expect.poll(() => uploadedFiles().filter((f) => f.endsWith('.partial')).length, { timeout: 20_000 }).toBe(1);
  for (const [w, h] of [[800, 600], [1280, 800]]) {
    for (const scheme of ['light', 'dark'] as const) {
      await page.setViewportSize({ width: w, height: h });
      await page.emulateMedia({ colorScheme: scheme });
      await expect(bar).toBeVisible();
      await screenshot(page, `42-uploading-${w}x${h}-${scheme}`);
    }
  }
  await page.emulateMedia({ colorScheme: 'light' });
  // … until it is canceled: then nothing is kept and no job is made.
  await row.getByRole('button', { name: 'Cancel upload of Clip One.flac' }).click();
  await expect(row).toHaveCount(0);
  await expect.poll(uploadedFiles, { timeout: 15_000 }).toEqual([]);
  expect(await jobByName('Clip One.flac')).toBeUndefined();
  await cdp.detach();
});

test('non-audio files are refused with a clear message; an upload without the token gets 401', async ({ page }) => {
  await openApp(page);
  await page.getByTestId('upload-songs').setInputFiles([path.join(clips, 'notes.txt'), path.join(clips, 'mystery')]);
  const toast = page.getByRole('alert').filter({ hasText: 'Could not add 2 files' });
  await expect(toast).toBeVisible();
  await expect(toast).toContainText('notes.txt: Not an audio file (by its name and content): choose an mp3, wav, flac, m4a, ogg, opus or aiff file.');
  await expect(toast).toContainText('mystery: Not an audio file');
  await screenshot(page, '43-upload-not-audio');
  expect(uploadedFiles()).toEqual([]);

  // The page's own cookie does not authorise API calls; without the token the bridge refuses.
  const refused = await page.evaluate(async () => {
    const res = await fetch('/api/upload/no-token-upload?path=song.flac', { method: 'PUT', body: new Uint8Array([0x66, 0x4c, 0x61, 0x43, 1, 2, 3, 4]) });
    return { status: res.status, body: await res.text() };
  });
  expect(refused.status).toBe(401);
  expect(JSON.parse(refused.body)).toMatchObject({ ok: false, error: { code: 'FORBIDDEN', message: expect.stringMatching(/access token/) } });
  expect(uploadedFiles()).toEqual([]);

  // The limit is a setting, shown in the browser's Settings in MiB.
  await page.getByRole('navigation', { name: 'Screens' }).getByRole('button', { name: 'Settings' }).click();
  await expect(page.getByLabel('Largest upload (MiB)')).toHaveValue('2048');
  await page.setViewportSize({ width: 800, height: 600 });
  await page.getByLabel('Largest upload (MiB)').scrollIntoViewIfNeeded();
  await screenshot(page, '44-settings-upload-limit-800x600');
});
