/**
 * Practice in the stem player, through the bridge with the real engine: a separated song shows its
 * tempo and key; a drag across a waveform sets a loop (snapped to the analysed beat grid, drawn on
 * every stem); tempo 75 % and pitch -2 go through the time-stretch worklet (served same-origin
 * under the app's CSP); playback wraps from the loop end back to the loop start.
 * Screenshots of the player at 1280×800 and 800×600 go to e2e/artifacts/screens/.
 */
import { expect, test, type Page } from '@playwright/test';
import { fixture, invoke, jobRow, openApp, resetQueue, screenshot } from './helpers.ts';

test.beforeEach(async () => {
  await resetQueue();
});

const seconds = (text: string | null) => {
  const [m, s] = (text ?? '0:0').split(':');
  return Number(m) * 60 + parseFloat(s);
};

async function dragAcross(page: Page, name: string, from: number, to: number) {
  const wave = page.getByRole('img', { name });
  const box = (await wave.boundingBox())!;
  const y = box.y + box.height / 2;
  await page.mouse.move(box.x + box.width * from, y);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width * to, y, { steps: 10 });
  await page.mouse.up();
}

test('loop a dragged region at 75 % tempo and -2 semitones', async ({ page }) => {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await openApp(page);
  const { jobs } = await invoke('jobs:add-files', { paths: [fixture('song01')] });
  const id = jobs[0].id;
  await expect.poll(async () => (await invoke('jobs:get', { id })).job.status, { timeout: 300_000, intervals: [500] }).toBe('done');
  const job = (await invoke('jobs:get', { id })).job;
  expect(job.beats?.length).toBeGreaterThan(8);

  await jobRow(page, 'mixture.flac').getByRole('button', { name: 'Open stems of mixture.flac' }).click();
  await test.step('tempo and key in the header', async () => {
    await expect(page.getByTestId('song-tempo')).toContainText('110 BPM');
    await expect(page.getByTestId('song-key')).toContainText('G minor');
  });

  const waves = ['Drums', 'Bass', 'Other', 'Vocals', 'Original mix'].map((s) => page.getByRole('img', { name: `${s} waveform` }));
  for (const w of waves) await expect(w).toBeVisible({ timeout: 90_000 });
  await expect.poll(() => waves[0].evaluate((el) => el.querySelector('div')?.shadowRoot?.querySelectorAll('canvas').length ?? 0)).toBeGreaterThan(0);

  let loop = { start: 0, end: 0 };
  await test.step('drag on a waveform: a loop on the beat grid, shown on every stem', async () => {
    await dragAcross(page, 'Bass waveform', 0.25, 0.45); // ~3.0 s → ~5.4 s of 12 s
    const attr = await waves[1].getAttribute('data-loop');
    expect(attr).toMatch(/^\d+\.\d{3}-\d+\.\d{3}$/);
    const [start, end] = attr!.split('-').map(Number);
    loop = { start, end };
    expect(end - start).toBeGreaterThan(1.5);
    for (const edge of [start, end]) expect(Math.min(...job.beats!.map((b) => Math.abs(b - edge)))).toBeLessThan(0.002);
    for (const w of waves) await expect(w).toHaveAttribute('data-loop', attr!);
    // The overlay is drawn inside every waveform's shadow root.
    for (const w of waves) expect(await w.evaluate((el) => (el.querySelector('div')?.shadowRoot?.querySelector('[data-loop]') as HTMLElement | null)?.style.display)).toBe('block');
    const loopBtn = page.getByRole('button', { name: 'Loop', exact: true });
    await expect(loopBtn).toHaveAttribute('aria-pressed', 'true');
    // The drag did not seek somewhere else: playback waits at the loop start.
    expect(Math.abs(seconds(await page.getByTestId('clock').textContent()) - start)).toBeLessThan(0.15);
    // L toggles the loop from the keyboard.
    await page.keyboard.press('l');
    await expect(loopBtn).toHaveAttribute('aria-pressed', 'false');
    await page.keyboard.press('l');
    await expect(loopBtn).toHaveAttribute('aria-pressed', 'true');
  });

  await test.step('tempo 75 % and pitch -2 through the time-stretch worklet', async () => {
    await page.getByRole('slider', { name: 'Tempo' }).fill('75');
    await page.getByRole('slider', { name: 'Pitch', exact: true }).fill('-2');
    await expect(page.getByRole('slider', { name: 'Tempo' })).toHaveAttribute('aria-valuetext', '75%');
    await expect(page.getByRole('slider', { name: 'Pitch', exact: true })).toHaveAttribute('aria-valuetext', '-2 semitones');
    // 'on' only once the worklet module loaded (same-origin, CSP) and sits in the insert.
    await expect(page.getByRole('toolbar', { name: 'Practice controls' })).toHaveAttribute('data-stretch', 'on', { timeout: 30_000 });
  });

  await test.step('play: the transport wraps from the loop end back to its start', async () => {
    const clock = page.getByTestId('clock');
    await page.getByRole('button', { name: 'Play', exact: true }).click();
    await expect(page.getByRole('button', { name: 'Pause', exact: true })).toBeVisible();
    const seen: number[] = [];
    // One pass is (end - start) / 0.75 s of real time; watch for the position to jump back.
    await expect
      .poll(
        async () => {
          seen.push(seconds(await clock.textContent()));
          const n = seen.length;
          return n > 1 && seen[n - 2] > loop.end - 1 && seen[n - 1] < loop.start + 1;
        },
        { timeout: 45_000, intervals: [100] },
      )
      .toBe(true);
    // Never outside the loop while it played (tenths shown: a little slack at the edges).
    for (const t of seen) {
      expect(t).toBeGreaterThanOrEqual(loop.start - 0.15);
      expect(t).toBeLessThanOrEqual(loop.end + 0.15);
    }
    await screenshot(page, 'practice-1280x800');
    await page.keyboard.press('Space');
    await expect(page.getByRole('button', { name: 'Play', exact: true })).toBeVisible();
  });

  await test.step('800×600: reopened small, every practice control on screen, the loop kept', async () => {
    await page.setViewportSize({ width: 800, height: 600 });
    await page.getByRole('navigation', { name: 'Screens' }).getByRole('button', { name: 'Queue' }).click();
    await jobRow(page, 'mixture.flac').getByRole('button', { name: 'Open stems of mixture.flac' }).click();
    await expect(waves[0]).toBeVisible({ timeout: 30_000 });
    await expect(waves[0]).toHaveAttribute('data-loop', `${loop.start.toFixed(3)}-${loop.end.toFixed(3)}`);
    for (const name of ['Tempo', 'Pitch', 'Fine pitch']) await expect(page.getByRole('slider', { name, exact: true })).toBeInViewport();
    for (const name of ['Loop', 'Count-in', 'Click']) await expect(page.getByRole('button', { name, exact: true })).toBeInViewport();
    await expect(page.getByRole('combobox', { name: 'Practice' })).toBeInViewport();
    await page.waitForTimeout(300);
    await screenshot(page, 'practice-800x600');
  });

  await expect(page.getByText('Tempo and pitch are not available')).toHaveCount(0);
  expect(errors).toEqual([]);
});
