/**
 * UI behaviour that needs no separation, on the `?mock=1` dev double (served by the same
 * bridge): drop highlight and the browser's no-path drop, drag-to-reorder, keyboard use, and
 * screenshots at 800×600 and 1920×1080 in light and dark.
 */
import { expect, test, type Page } from '@playwright/test';
import { bridge, jobRow, screenshot } from './helpers.ts';

async function openMock(page: Page, seed = false) {
  const { url, token } = bridge();
  await page.goto(`${url}/?token=${encodeURIComponent(token)}&mock=1${seed ? '&seed=1' : ''}`);
  await expect(page.getByRole('note').filter({ hasText: 'Demo mode' })).toBeVisible();
}

test('dropping files highlights the window; the browser explains it cannot see paths', async ({ page }) => {
  await openMock(page);
  await page.evaluate(() => {
    const dt = new DataTransfer();
    dt.items.add(new File(['x'], 'song.wav', { type: 'audio/wav' }));
    document.body.dispatchEvent(new DragEvent('dragenter', { dataTransfer: dt, bubbles: true, cancelable: true }));
    (window as unknown as { __dt: DataTransfer }).__dt = dt;
  });
  await expect(page.getByText('Drop to separate')).toBeVisible();
  await screenshot(page, '20-drop-highlight');
  await page.evaluate(() => {
    const dt = (window as unknown as { __dt: DataTransfer }).__dt;
    document.body.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
  });
  await expect(page.getByText('Drop to separate')).toBeHidden();
  await expect(page.getByText('The browser keeps file locations private')).toBeVisible();
});

test('unsupported files are named in a toast', async ({ page }) => {
  await openMock(page);
  const field = page.getByRole('textbox', { name: 'Add by path' });
  await field.fill('/home/musician/Music/Album');
  await field.press('Enter');
  const alert = page.getByRole('alert').filter({ hasText: 'Skipped 1 file' });
  await expect(alert).toContainText('cover.jpg');
  await expect(page.getByRole('listitem', { name: 'Folder Album' })).toBeVisible();
});

test('reorder queued songs by dragging and with the keyboard', async ({ page }) => {
  await openMock(page);
  await page.getByRole('button', { name: 'Pause all' }).click();
  const field = page.getByRole('textbox', { name: 'Add by path' });
  for (const n of ['one.flac', 'two.flac', 'three.flac']) {
    await field.fill(`/m/${n}`);
    await field.press('Enter');
    await expect(jobRow(page, n)).toBeVisible();
  }
  const order = () => page.locator('li.job').evaluateAll((els) => els.map((e) => e.getAttribute('aria-label')));
  await expect.poll(order).toEqual(['one.flac', 'two.flac', 'three.flac']);

  await jobRow(page, 'three.flac').dragTo(jobRow(page, 'one.flac'), { targetPosition: { x: 40, y: 5 } });
  await expect.poll(order).toEqual(['three.flac', 'one.flac', 'two.flac']);

  await jobRow(page, 'three.flac').getByRole('button', { name: 'Move three.flac down' }).focus();
  await page.keyboard.press('Enter');
  await expect.poll(order).toEqual(['one.flac', 'three.flac', 'two.flac']);
  // The first job cannot move up.
  await expect(jobRow(page, 'one.flac').getByRole('button', { name: 'Move one.flac up' })).toBeDisabled();
});

for (const [w, h] of [
  [800, 600],
  [1920, 1080],
] as const) {
  for (const scheme of ['light', 'dark'] as const) {
    test(`screens at ${w}×${h} in ${scheme}`, async ({ page }) => {
      await page.setViewportSize({ width: w, height: h });
      await page.emulateMedia({ colorScheme: scheme });
      await openMock(page, true);
      await expect(jobRow(page, 'Demo Song.flac')).toHaveAttribute('data-status', 'done');
      await screenshot(page, `30-queue-${w}x${h}-${scheme}`);
      // Nothing overflows the window sideways.
      expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(w);
      await jobRow(page, 'Demo Song.flac').getByRole('button', { name: 'Open stems of Demo Song.flac' }).click();
      await expect(page.getByRole('img', { name: 'Vocals waveform' })).toBeVisible();
      await screenshot(page, `31-player-${w}x${h}-${scheme}`);
      expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(w);
      for (const s of ['Settings', 'Diagnostics'] as const) {
        await page.getByRole('button', { name: s }).click();
        await expect(page.getByRole('heading', { name: s })).toBeVisible();
        await screenshot(page, `32-${s.toLowerCase()}-${w}x${h}-${scheme}`);
        expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(w);
      }
    });
  }
}

test('clear finished songs from the list', async ({ page }) => {
  await openMock(page, true);
  await expect(jobRow(page, 'Demo Song.flac')).toHaveAttribute('data-status', 'done');
  await page.getByRole('button', { name: 'Clear finished' }).click();
  await expect(jobRow(page, 'Demo Song.flac')).toHaveCount(0);
  // Failed songs stay, with their reason.
  await expect(jobRow(page, 'Broken fail.wav')).toHaveAttribute('data-status', 'failed');
});
