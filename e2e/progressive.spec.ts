/**
 * Progressive playback through the real app and engine: a 30 s song (three known-answer clips
 * joined with ffmpeg) is added; while it is still separating, its queue row's Play button opens the
 * player, playback starts and the transport advances before the job is done; the raw PCM served
 * mid-run is the exact prefix of the finished stem; seek back; after completion it plays to the end.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { expect, test } from '@playwright/test';
import { bridge, fixture, invoke, jobRow, openApp, resetQueue, screenshot } from './helpers.ts';

test.beforeEach(async () => {
  await resetQueue();
});

/** ~30 s input: song00 + song01 + song02 (12 s each), cut to 30 s. */
function thirtySecondSong(): string {
  const out = path.join(bridge().dir, 'progressive-30s.flac');
  if (existsSync(out)) return out;
  const list = path.join(bridge().dir, 'progressive-list.txt');
  writeFileSync(list, ['song00', 'song01', 'song02'].map((s) => `file '${fixture(s)}'`).join('\n'));
  execFileSync(process.env.FFMPEG_PATH ?? 'ffmpeg', ['-v', 'error', '-y', '-f', 'concat', '-safe', '0', '-i', list, '-t', '30', out]);
  return out;
}

async function pcm(jobId: string, stem: string): Promise<Buffer> {
  const { url, token } = bridge();
  const res = await fetch(`${url}/media/${jobId}/${stem}?token=${encodeURIComponent(token)}&pcm=f32`);
  expect(res.ok).toBe(true);
  return Buffer.from(await res.arrayBuffer());
}

const seconds = (text: string | null) => {
  const [m, s] = (text ?? '0:0').split(':');
  return Number(m) * 60 + parseFloat(s);
};

test('play a song while it separates, seek back, then play to the end', async ({ page }) => {
  const song = thirtySecondSong();
  await openApp(page);
  const t0 = Date.now();
  // 32-bit float wav: the finished stems are the engine's float data unchanged, so the prefix served
  // while running can be compared byte for byte.
  const { jobs } = await invoke('jobs:add-files', { paths: [song], options: { format: 'wav', bits: 32 } });
  const id = jobs[0].id;
  const row = jobRow(page, path.basename(song));
  await expect(row).toHaveAttribute('data-status', 'running', { timeout: 60_000 });

  // Time to the first playable audio (ready > 0), for the record.
  let ready = 0;
  await expect
    .poll(async () => ((ready = (await invoke('jobs:get', { id })).job.readySamples ?? 0), ready), { timeout: 180_000, intervals: [200] })
    .toBeGreaterThan(0);
  test.info().annotations.push({ type: 'first-audio', description: `ready ${ready} frames after ${((Date.now() - t0) / 1000).toFixed(1)} s` });
  const midRun = await pcm(id, 'drums');
  expect(midRun.length).toBeGreaterThan(0);
  expect(midRun.length % 8).toBe(0);
  expect((await invoke('jobs:get', { id })).job.status).toBe('running');

  await test.step('Play on the running row opens the player; playback advances before the job is done', async () => {
    await row.getByRole('button', { name: `Play ${path.basename(song)} while it separates` }).click();
    await expect(page.getByRole('heading', { name: path.basename(song) })).toBeVisible();
    await expect(page.getByTestId('ready-note').or(page.getByTestId('buffering'))).toBeVisible();
    await page.getByRole('button', { name: 'Play', exact: true }).click();
    const clock = page.getByTestId('clock');
    await expect.poll(async () => seconds(await clock.textContent()), { timeout: 30_000 }).toBeGreaterThan(1);
    // Still separating while we listen.
    expect((await invoke('jobs:get', { id })).job.status).toBe('running');
    await screenshot(page, '10-player-progressive');

    // Seek back to the start: the clock jumps back and runs on.
    const before = seconds(await clock.textContent());
    await page.getByRole('button', { name: 'Back to start' }).click();
    await expect.poll(async () => seconds(await clock.textContent())).toBeLessThan(before);
    await expect.poll(async () => seconds(await clock.textContent()), { timeout: 20_000 }).toBeGreaterThan(0.5);
  });

  await test.step('the prefix served mid-run is exactly the start of the finished stem', async () => {
    // The player is open (the queue row is not on screen): follow the job through the API.
    await expect.poll(async () => (await invoke('jobs:get', { id })).job.status, { timeout: 300_000, intervals: [500] }).toBe('done');
    const final = await pcm(id, 'drums');
    expect(final.length).toBe(30 * 44100 * 8);
    expect(midRun.equals(final.subarray(0, midRun.length))).toBe(true);
    // and the same for the finished file on disk (float wav data after its 44-byte header)
    const job = (await invoke('jobs:get', { id })).job;
    const file = readFileSync(job.stems.find((s) => s.name === 'drums')!.path);
    expect(midRun.equals(file.subarray(44, 44 + midRun.length))).toBe(true);
  });

  await test.step('after completion it plays to the end (and rewinds)', async () => {
    await expect(page.getByTestId('ready-note')).toBeHidden();
    const clock = page.getByTestId('clock');
    // Jump to ~27 s by clicking 90% along a waveform, play, and wait for the end.
    if (await page.getByRole('button', { name: 'Pause', exact: true }).isVisible()) await page.getByRole('button', { name: 'Pause', exact: true }).click();
    const drums = page.getByRole('img', { name: 'Drums waveform' });
    const box = (await drums.boundingBox())!;
    await drums.click({ position: { x: box.width * 0.9, y: box.height / 2 } });
    await expect.poll(async () => seconds(await clock.textContent())).toBeGreaterThan(25);
    await page.getByRole('button', { name: 'Play', exact: true }).click();
    await expect.poll(async () => seconds(await clock.textContent()), { timeout: 10_000 }).toBeGreaterThan(28);
    // The end: playback stops and the transport rewinds.
    await expect(page.getByRole('button', { name: 'Play', exact: true })).toBeVisible({ timeout: 15_000 });
    await expect.poll(async () => seconds(await clock.textContent())).toBe(0);
    await screenshot(page, '11-player-finished');
  });
});
