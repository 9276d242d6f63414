/**
 * Practice export (issue 13): a finished job's player set to Tempo 75 % and Pitch -2 with its
 * labelled controls, then "Export mixdown…": the file is named after the change and is the
 * original's length / 0.75 (±1 %), measured by ffprobe. The stretch itself runs in the media
 * worker (unit-tested in main/practice-mixdown.test.ts: pitch, length, no NaN, no clicks).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { expect, test } from '@playwright/test';
import { bridge, fixture, invoke, jobRow, openApp, resetQueue, screenshot } from './helpers.ts';

test.beforeEach(async () => {
  await resetQueue();
});

function ffprobeDuration(file: string): number {
  return Number(execFileSync('ffprobe', ['-v', 'error', '-show_entries', 'format=duration', '-of', 'csv=p=0', file], { encoding: 'utf8' }).trim());
}

test('export a mixdown at tempo 75 % and pitch -2: 1/0.75 as long, named after the change', async ({ page }) => {
  // 5 s of song00: one model segment, so the separation stays short.
  const dir = path.join(bridge().dir, 'practice-export');
  mkdirSync(dir, { recursive: true });
  const song = path.join(dir, 'practice.flac');
  execFileSync(process.env.FFMPEG_PATH ?? 'ffmpeg', ['-v', 'error', '-y', '-ss', '2', '-t', '5', '-i', fixture('song00'), '-c:a', 'flac', song]);
  const original = ffprobeDuration(song);
  const { jobs } = await invoke('jobs:add-files', { paths: [song], options: { twoStems: 'vocals' } });
  const id = jobs[0].id;
  await expect.poll(async () => (await invoke('jobs:get', { id })).job.status, { timeout: 240_000, intervals: [500] }).toBe('done');

  await openApp(page);
  await jobRow(page, 'practice.flac').getByRole('button', { name: 'Open stems of practice.flac' }).click();
  await expect(page.getByRole('heading', { name: 'practice.flac' })).toBeVisible();

  await test.step('set Tempo 75 % and Pitch -2 with the player’s controls', async () => {
    const tempo = page.getByRole('slider', { name: 'Tempo', exact: true });
    const pitch = page.getByRole('slider', { name: 'Pitch', exact: true });
    await tempo.fill('75');
    await pitch.fill('-2');
    await expect(tempo).toHaveValue('75');
    await expect(pitch).toHaveValue('-2');
  });

  await test.step('export "no vocals" at that tempo and pitch', async () => {
    await page.getByRole('button', { name: /Export mixdown/ }).click();
    const dialog = page.getByRole('dialog', { name: 'Export mixdown' });
    const practice = dialog.getByRole('checkbox', { name: /tempo and pitch/ });
    await expect(practice).toBeChecked();
    await expect(practice).toHaveAccessibleName(/75\s%, −2\sst/);
    await dialog.getByRole('button', { name: 'Everything but vocals' }).click();
    await dialog.getByRole('button', { name: 'Export', exact: true }).click();
    const pathEl = dialog.getByTestId('mixdown-path');
    await expect(pathEl).toBeVisible({ timeout: 90_000 });
    await screenshot(page, 'practice-export');
    const file = (await pathEl.textContent())!.trim();
    expect(path.basename(file)).toBe('mix-no_vocals 75% -2st.wav');
    await expect(dialog.locator('.export-name')).toHaveText('mix-no_vocals 75% -2st.wav');
    expect(existsSync(file)).toBe(true);
    const d = ffprobeDuration(file);
    expect(Math.abs(d / (original / 0.75) - 1)).toBeLessThanOrEqual(0.01);
  });
});
