/**
 * One song through the real app: add it by path, watch it go queued → running → done, open the
 * stem player (four stem waveforms + the original), play, mute, solo, export a "no vocals"
 * mixdown and check the file on disk. Screenshots of every screen go to e2e/artifacts/screens/.
 */
import { existsSync } from 'node:fs';
import { expect, test } from '@playwright/test';
import { addByPath, bridge, fixture, invoke, jobRow, openApp, resetQueue, screenshot, wavInfo } from './helpers.ts';

test.beforeEach(async () => {
  await resetQueue();
});

test('separate a song, audition the stems and export a mixdown', async ({ page, context }) => {
  await context.grantPermissions(['clipboard-read', 'clipboard-write']);
  await openApp(page);

  await test.step('empty state invites a drop', async () => {
    await expect(page.getByRole('heading', { name: 'Drop songs or folders here' })).toBeVisible();
    await screenshot(page, '01-empty');
  });

  const row = jobRow(page, 'mixture.flac');
  await test.step('add by path; queued → running → done', async () => {
    // Hold the queue so the queued state is observable, then let it run.
    await page.getByRole('button', { name: 'Pause all' }).click();
    await expect(page.getByRole('button', { name: 'Resume all' })).toBeVisible();
    await addByPath(page, fixture('song01'));
    await expect(row).toHaveAttribute('data-status', 'queued');
    await expect(row.getByText('Waiting')).toBeVisible();
    await page.getByRole('button', { name: 'Resume all' }).click();
    await expect(row).toHaveAttribute('data-status', 'running', { timeout: 30_000 });
    await expect(row.getByRole('progressbar', { name: 'Progress of mixture.flac' })).toBeVisible();
    await expect(row.getByText(/on CPU/)).toBeVisible({ timeout: 30_000 });
    // Catch it mid-way for the screenshot (progress > 0), unless it finishes first.
    await expect
      .poll(async () => {
        const status = await row.getAttribute('data-status');
        if (status !== 'running') return status;
        return Number((await row.getByRole('progressbar').getAttribute('aria-valuenow').catch(() => '0')) ?? 0) > 0 ? 'progress' : 'running';
      }, { timeout: 240_000 })
      .toMatch(/progress|done/);
    await screenshot(page, '02-queue-running');
    await expect(row).toHaveAttribute('data-status', 'done', { timeout: 240_000 });
    await expect(row.getByText('Done')).toBeVisible();
    await expect(row.getByText(/elapsed/)).toBeVisible();
    await screenshot(page, '03-queue-done');
  });

  await test.step('stem player: four stems + the original, drawn from peaks', async () => {
    await row.getByRole('button', { name: 'Open stems of mixture.flac' }).click();
    await expect(page.getByRole('heading', { name: 'mixture.flac' })).toBeVisible();
    // tempo and key, analysed by the engine from the separated stems (song01: 110 BPM, G minor;
    // see test/fixtures/known-answer/analysis-truth.json)
    const facts = page.getByRole('definition');
    await expect(page.getByTestId('song-tempo')).toContainText('110 BPM');
    await expect(page.getByTestId('song-key')).toContainText('G minor');
    await expect(facts).toHaveCount(2);
    for (const stem of ['Drums', 'Bass', 'Other', 'Vocals', 'Original mix']) {
      const wave = page.getByRole('img', { name: `${stem} waveform` });
      await expect(wave).toBeVisible({ timeout: 90_000 }); // peaks come from the media worker (cold start under load)
      // wavesurfer draws into canvases inside its shadow root.
      await expect.poll(() => wave.evaluate((el) => el.querySelector('div')?.shadowRoot?.querySelectorAll('canvas').length ?? el.querySelectorAll('canvas').length)).toBeGreaterThan(0);
    }
    // Four stems plus the original, each a track of the one Web Audio graph (gains applied).
    await expect(page.locator('.track[data-gain]')).toHaveCount(5);
  });

  await test.step('play, mute one stem, solo another', async () => {
    const clock = page.getByTestId('clock');
    await page.getByRole('button', { name: 'Play', exact: true }).click();
    await expect(page.getByRole('button', { name: 'Pause', exact: true })).toBeVisible();
    await expect.poll(async () => parseFloat((await clock.textContent())!.split(':')[1]), { timeout: 45_000 }).toBeGreaterThan(0.5);
    const volumes = () =>
      page.locator('.track[data-gain]').evaluateAll((els) => Object.fromEntries(els.map((e) => [(e as HTMLElement).dataset.stem, Number((e as HTMLElement).dataset.gain)])));
    expect(await volumes()).toEqual({ drums: 1, bass: 1, other: 1, vocals: 1, mix: 0 });

    await page.getByRole('button', { name: 'Mute Vocals' }).click();
    await expect(page.getByRole('button', { name: 'Mute Vocals' })).toHaveAttribute('aria-pressed', 'true');
    await expect.poll(volumes).toEqual({ drums: 1, bass: 1, other: 1, vocals: 0, mix: 0 });

    await page.getByRole('button', { name: 'Solo Bass' }).click();
    await expect(page.getByRole('button', { name: 'Solo Bass' })).toHaveAttribute('aria-pressed', 'true');
    await expect.poll(volumes).toEqual({ drums: 0, bass: 1, other: 0, vocals: 0, mix: 0 });

    // All stems run on one clock (one AudioContext, same start time: unit-tested in
    // renderer/src/player/mix-player.test.ts); the clock keeps advancing.
    const t1 = parseFloat((await clock.textContent())!.split(':')[1]);
    await expect.poll(async () => parseFloat((await clock.textContent())!.split(':')[1])).toBeGreaterThan(t1);
    await screenshot(page, '04-player');

    // Space pauses.
    await page.keyboard.press('Space');
    await expect(page.getByRole('button', { name: 'Play', exact: true })).toBeVisible();

    // Click a waveform half-way along: every stem jumps to ~6 s.
    const drums = page.getByRole('img', { name: 'Drums waveform' });
    const box = (await drums.boundingBox())!;
    await drums.click({ position: { x: box.width / 2, y: box.height / 2 } });
    await expect.poll(async () => parseFloat((await clock.textContent())!.split(':')[1])).toBeGreaterThan(5.5);
    expect(Math.abs(parseFloat((await clock.textContent())!.split(':')[1]) - 6)).toBeLessThan(0.5);

    // Zoom in: the waveform grows wider than its box (and scrolls).
    const wrapperWidth = () => drums.evaluate((el) => (el.querySelector('div')?.shadowRoot?.querySelector('.wrapper') as HTMLElement | null)?.scrollWidth ?? 0);
    const before = await wrapperWidth();
    await page.getByRole('slider', { name: 'Zoom' }).fill('300');
    await expect.poll(wrapperWidth).toBeGreaterThan(before * 2);
    await page.getByRole('slider', { name: 'Zoom' }).fill('0');
  });

  await test.step('export a "no vocals" mixdown', async () => {
    await page.getByRole('button', { name: /Export mixdown/ }).click();
    const dialog = page.getByRole('dialog', { name: 'Export mixdown' });
    await dialog.getByRole('button', { name: 'Everything but vocals' }).click();
    await expect(dialog.getByRole('checkbox', { name: 'Vocals' })).not.toBeChecked();
    await expect(dialog.getByRole('checkbox', { name: 'Drums' })).toBeChecked();
    await dialog.getByRole('button', { name: 'Export', exact: true }).click();
    const pathEl = dialog.getByTestId('mixdown-path');
    await expect(pathEl).toBeVisible({ timeout: 60_000 });
    await screenshot(page, '05-mixdown-exported');
    const file = (await pathEl.textContent())!.trim();
    expect(existsSync(file)).toBe(true);
    expect(file.startsWith(process.env.DEMIX_E2E_OUT!)).toBe(true);
    const info = wavInfo(file);
    expect(info.channels).toBe(2);
    expect(info.sampleRate).toBe(44100);
    expect(Math.abs(info.durationSec - 12)).toBeLessThanOrEqual(0.1);
    await dialog.getByRole('button', { name: 'Done' }).click();
    await expect(dialog).toBeHidden();
  });

  await test.step('settings: validated, saved, persisted', async () => {
    await page.getByRole('button', { name: 'Settings' }).click();
    await expect(page.getByRole('heading', { name: 'Settings' })).toBeVisible();
    await expect(page.getByLabel('Output folder')).toHaveValue(process.env.DEMIX_E2E_OUT!);
    // The device list holds what diagnostics found.
    await expect(page.getByLabel('Device').locator('option', { hasText: 'CPU' })).toHaveCount(1);
    await screenshot(page, '06-settings');

    await page.getByLabel('Songs at once').fill('0');
    await page.getByRole('button', { name: 'Save settings' }).click();
    await expect(page.getByText('Some settings are not valid; see the highlighted fields.')).toBeVisible();
    await expect(page.getByLabel('Songs at once')).toHaveAttribute('aria-invalid', 'true');
    await screenshot(page, '07-settings-error');
    await page.getByRole('button', { name: 'Discard changes' }).click();

    await page.getByLabel('When stems clip').selectOption('clamp');
    await page.getByRole('button', { name: 'Save settings' }).click();
    await expect(page.getByText('Settings saved')).toBeVisible();
    expect((await invoke('settings:get', {})).clipMode).toBe('clamp');
    await page.reload();
    await page.getByRole('button', { name: 'Settings' }).click();
    await expect(page.getByLabel('When stems clip')).toHaveValue('clamp');
    await invoke('settings:set', { clipMode: 'rescale' });
  });

  await test.step('diagnostics with a copyable report', async () => {
    await page.getByRole('button', { name: 'Diagnostics' }).click();
    await expect(page.getByRole('heading', { name: 'Diagnostics' })).toBeVisible();
    await expect(page.getByRole('region', { name: 'ffmpeg' })).toContainText(/ffmpeg/i);
    await expect(page.getByRole('region', { name: 'Execution providers' })).toContainText('CPU');
    await screenshot(page, '08-diagnostics');
    await page.getByRole('button', { name: 'Copy report' }).click();
    await expect(page.getByText('Report copied to the clipboard')).toBeVisible();
    const text = await page.evaluate(() => navigator.clipboard.readText());
    expect(text).toContain('Demix ');
    const d = await invoke('diagnostics:get', {});
    expect(text).toContain(`Data folder: ${d.dataDir}`);
    expect(text).toMatch(new RegExp(`Execution providers: available [^\\n]*${d.providers.available[0]}`));
  });
});

test('a contract mismatch shows a clear error screen', async ({ page }) => {
  await page.route('**/api/invoke/app:hello', (route) =>
    route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify({ ok: true, value: { contractVersion: 999, appVersion: '9.9.9', host: 'web' } }) }),
  );
  const { url, token } = bridge();
  await page.goto(`${url}/?token=${encodeURIComponent(token)}`);
  await expect(page.getByRole('heading', { name: 'Demix needs a restart' })).toBeVisible();
  await expect(page.getByText(/speaks version 999/)).toBeVisible();
  await screenshot(page, '09-error-version-mismatch');
});
