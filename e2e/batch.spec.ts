/**
 * A folder with two songs and one file that only looks like audio: both songs are separated
 * into one batch, the bad file is reported by name. Then: cancel a running job, and retry a job
 * that failed (its input went missing) once the input is back.
 */
import { copyFileSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { expect, test } from '@playwright/test';
import { addByPath, bridge, fixture, invoke, jobRow, openApp, resetQueue, screenshot } from './helpers.ts';

test.beforeEach(async () => {
  await resetQueue();
});

test('add a folder: two songs succeed, the non-audio file is reported', async ({ page }) => {
  const folder = path.join(bridge().dir, 'album');
  mkdirSync(folder, { recursive: true });
  copyFileSync(fixture('song00'), path.join(folder, 'song00.flac'));
  copyFileSync(fixture('song02'), path.join(folder, 'song02.flac'));
  writeFileSync(path.join(folder, 'notes.mp3'), 'These are my lyric notes, not audio.\n');

  await openApp(page);
  await addByPath(page, folder);

  const batch = page.getByRole('listitem', { name: 'Folder album' });
  await expect(batch).toBeVisible();
  await expect(jobRow(page, 'song00.flac')).toBeVisible();
  await expect(jobRow(page, 'song02.flac')).toBeVisible();

  // notes.mp3 is reported either when the folder is scanned (a toast naming it) or when the
  // engine opens it (a failed job whose message says it is not audio).
  const toast = page.getByRole('alert').filter({ hasText: 'notes.mp3' });
  const failedNotes = jobRow(page, 'notes.mp3');
  await expect(toast.or(failedNotes.locator('.job-error'))).toBeVisible({ timeout: 60_000 });
  await screenshot(page, '10-folder-added');

  await expect(jobRow(page, 'song00.flac')).toHaveAttribute('data-status', 'done', { timeout: 240_000 });
  await expect(jobRow(page, 'song02.flac')).toHaveAttribute('data-status', 'done', { timeout: 240_000 });
  await expect(batch.getByText(/2 of [23] done/)).toBeVisible();
  if (await failedNotes.count()) {
    await expect(failedNotes).toHaveAttribute('data-status', 'failed');
    await expect(batch.getByText('1 failed')).toBeVisible();
  }
  await screenshot(page, '11-folder-done');

  const { jobs } = await invoke('jobs:list', { limit: 100 });
  const songs = jobs.filter((j) => j.name === 'song00.flac' || j.name === 'song02.flac');
  expect(songs.map((j) => j.status)).toEqual(['done', 'done']);
  for (const j of songs) expect(j.stems.map((s) => s.name).sort()).toEqual(['bass', 'drums', 'other', 'vocals']);
});

test('cancel a running job; retry a failed one', async ({ page }) => {
  const dir = path.join(bridge().dir, 'retry');
  mkdirSync(dir, { recursive: true });
  const running = path.join(dir, 'to-cancel.flac');
  const flaky = path.join(dir, 'comes-back.flac');
  copyFileSync(fixture('song01'), running);
  copyFileSync(fixture('song02'), flaky);

  await openApp(page);
  await page.getByRole('button', { name: 'Pause all' }).click();
  await addByPath(page, running);
  await addByPath(page, flaky);
  const a = jobRow(page, 'to-cancel.flac');
  const b = jobRow(page, 'comes-back.flac');
  await expect(a).toHaveAttribute('data-status', 'queued');
  await expect(b).toHaveAttribute('data-status', 'queued');

  // Keyboard reorder: move the second job up, then back down.
  await b.getByRole('button', { name: 'Move comes-back.flac up' }).click();
  await expect(page.getByRole('listitem').first()).toHaveAttribute('aria-label', 'comes-back.flac');
  await b.getByRole('button', { name: 'Move comes-back.flac down' }).click();
  await expect(page.getByRole('listitem').first()).toHaveAttribute('aria-label', 'to-cancel.flac');

  // The second song's input disappears before it runs: it will fail.
  const hidden = `${flaky}.away`;
  renameSync(flaky, hidden);

  await page.getByRole('button', { name: 'Resume all' }).click();
  await expect(a).toHaveAttribute('data-status', 'running', { timeout: 30_000 });
  await a.getByRole('button', { name: 'Cancel to-cancel.flac' }).click();
  await expect(a).toHaveAttribute('data-status', 'canceled', { timeout: 30_000 });
  await expect(a.getByText('Canceled')).toBeVisible();

  await expect(b).toHaveAttribute('data-status', 'failed', { timeout: 60_000 });
  const message = b.locator('.job-error');
  await expect(message).toBeVisible();
  expect((await message.textContent())!.length).toBeGreaterThan(10);
  await screenshot(page, '12-failed-job');

  renameSync(hidden, flaky);
  await b.getByRole('button', { name: 'Retry comes-back.flac' }).click();
  await expect(b).not.toHaveAttribute('data-status', 'failed');
  await expect(b).toHaveAttribute('data-status', 'done', { timeout: 240_000 });
});
