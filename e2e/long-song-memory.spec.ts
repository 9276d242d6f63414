/**
 * The renderer's memory for a 10-minute song (issue 10: the player streams, so memory stays
 * bounded). Separating 10 minutes would take many minutes here, so the four stems are made with
 * ffmpeg and the finished job is registered in the bridge's own job store (a second process on the
 * same database, as the CLI is); the bridge serves them like any separated stems. The player is
 * opened, plays, seeks to the middle and plays on; then the page's JS heap
 * (CDP Performance.getMetrics) and the resident memory of Chromium's renderer processes are read,
 * logged, and bounded well below what decoding the whole song would take
 * (10 min × 4 stems × 2 channels × float32 ≈ 847 MB).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { expect, test } from '@playwright/test';
import { Bus } from '../main/bus.ts';
import { openDatabase } from '../main/store/db.ts';
import { JobStore, optionsKey } from '../main/store/job-store.ts';
import { bridge, jobRow, openApp, resetQueue } from './helpers.ts';

const MINUTES = 10;
const SECONDS = MINUTES * 60;
const DECODED_WHOLE_MB = (SECONDS * 44100 * 2 * 4 * 4) / 2 ** 20;

test.beforeEach(async () => {
  await resetQueue();
});

/** Four 10-minute 16-bit stereo WAV stems (tones and noise: cheap to make, not silent) and a mixture. */
function makeStems(dir: string): { mixture: string; stems: { name: string; path: string }[] } {
  mkdirSync(dir, { recursive: true });
  const ffmpeg = process.env.FFMPEG_PATH ?? 'ffmpeg';
  const sources: Record<string, string> = {
    drums: `anoisesrc=color=pink:amplitude=0.2:sample_rate=44100:duration=${SECONDS}`,
    bass: `sine=frequency=55:sample_rate=44100:duration=${SECONDS}`,
    other: `sine=frequency=440:sample_rate=44100:duration=${SECONDS}`,
    vocals: `sine=frequency=880:sample_rate=44100:duration=${SECONDS}`,
  };
  const stems = Object.entries(sources).map(([name, src]) => {
    const file = path.join(dir, `${name}.wav`);
    if (!existsSync(file)) execFileSync(ffmpeg, ['-v', 'error', '-y', '-f', 'lavfi', '-i', src, '-ac', '2', '-c:a', 'pcm_s16le', file]);
    return { name, path: file };
  });
  // A WAV mixture too: a compressed one is decoded by ffmpeg from its start for every chunk the
  // player asks for (the reference track), which is not what this test measures.
  const mixture = path.join(dir, 'ten-minute-song.wav');
  if (!existsSync(mixture)) execFileSync(ffmpeg, ['-v', 'error', '-y', '-f', 'lavfi', '-i', sources.other, '-ac', '2', '-c:a', 'pcm_s16le', mixture]);
  return { mixture, stems };
}

/** Resident memory (MB) of each Chromium renderer process this test process started. */
function rendererRssMB(): number[] {
  const parent = new Map<number, number>();
  const cmd = new Map<number, string>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      parent.set(Number(d), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
      cmd.set(Number(d), readFileSync(`/proc/${d}/cmdline`, 'utf8'));
    } catch {
      // gone
    }
  }
  const mine = (pid: number) => {
    for (let p = pid, n = 0; p > 1 && n < 20; p = parent.get(p) ?? 0, n++) if (p === process.pid) return true;
    return false;
  };
  const out: number[] = [];
  for (const [pid, c] of cmd) {
    if (!c.includes('--type=renderer') || !mine(pid)) continue;
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    if (m) out.push(Number(m[1]) / 1024);
  }
  return out;
}

test('a 10-minute song: the player streams, the renderer stays far below the decoded size', async ({ page }) => {
  test.setTimeout(600_000);
  const dir = path.join(bridge().dir, 'ten-minute');
  const { mixture, stems } = makeStems(dir);
  const name = path.basename(mixture);

  // Register the finished job in the bridge's database (status running → done, as a runner would).
  const { db, sqlite } = openDatabase(path.join(bridge().dir, 'data', 'demix.db'));
  const id = `longmem${Date.now().toString(36)}`;
  try {
    const store = new JobStore(db, new Bus());
    const options = { modelId: 'htdemucs', format: 'wav' as const, bits: 16 as const, clipMode: 'rescale' as const, twoStems: null, shifts: 0, device: 'auto' as const };
    store.insert(null, [
      { id, name, inputPath: mixture, modelId: 'htdemucs', options: JSON.stringify(options), optionsKey: optionsKey(options), status: 'running', createdAt: Date.now(), outputRoot: path.dirname(dir), outputDir: dir },
    ]);
    expect(store.complete(id, { stems: stems.map((s) => ({ ...s, format: 'wav', durationSec: SECONDS })), durationSec: SECONDS, provider: 'cpu' })?.status).toBe('done');
  } finally {
    sqlite.close();
  }

  await openApp(page);
  const row = jobRow(page, name);
  await expect(row).toHaveAttribute('data-status', 'done', { timeout: 30_000 });
  await row.getByRole('button', { name: `Open stems of ${name}` }).click();
  await expect(page.getByRole('heading', { name })).toBeVisible();
  const clock = page.getByTestId('clock');
  const seconds = async () => {
    // (a generous timeout: on a loaded machine the page can be busy drawing four long waveforms)
    const [m, s] = ((await clock.textContent({ timeout: 60_000 })) ?? '0:0').split(':');
    return Number(m) * 60 + parseFloat(s);
  };

  const play = page.getByRole('button', { name: 'Play', exact: true });
  const pause = page.getByRole('button', { name: 'Pause', exact: true });
  await play.click();
  await expect.poll(seconds, { timeout: 60_000 }).toBeGreaterThan(2);
  // Seek to the middle (a click on a waveform) and play on from there. The peaks of four 10-minute
  // stems are decoded by the bridge first (seconds; more on a busy machine).
  const drums = page.getByRole('img', { name: 'Drums waveform' });
  await expect(drums).toBeVisible({ timeout: 180_000 });
  // The renderer before any audio is fetched beyond the first chunks (waveforms drawn).
  const before = rendererRssMB();
  const box = (await drums.boundingBox())!;
  await drums.click({ position: { x: box.width * 0.5, y: box.height / 2 }, timeout: 120_000, noWaitAfter: true, force: true });
  await expect.poll(seconds, { timeout: 120_000 }).toBeGreaterThan(SECONDS * 0.45);
  const at = await seconds();
  if (await play.isVisible()) await play.click({ timeout: 60_000, noWaitAfter: true });
  await expect.poll(seconds, { timeout: 120_000 }).toBeGreaterThan(at + 2);
  if (await pause.isVisible()) await pause.click({ timeout: 60_000, noWaitAfter: true });

  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Performance.enable');
  const { metrics } = await cdp.send('Performance.getMetrics');
  const heapMB = (metrics.find((m) => m.name === 'JSHeapUsedSize')?.value ?? NaN) / 2 ** 20;
  const totalHeapMB = (metrics.find((m) => m.name === 'JSHeapTotalSize')?.value ?? NaN) / 2 ** 20;
  const after = rendererRssMB();
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  const rssMB = sum(after);
  const grewMB = rssMB - sum(before);
  const line =
    `10-minute song, 4 stems + mix streamed: JS heap used ${heapMB.toFixed(1)} MB (total ${totalHeapMB.toFixed(1)} MB); ` +
    `renderer RSS ${rssMB.toFixed(0)} MB (${after.map((x) => x.toFixed(0)).join(' + ')}), ${grewMB >= 0 ? '+' : ''}${grewMB.toFixed(0)} MB while playing and seeking; ` +
    `decoding the four stems whole would take ${DECODED_WHOLE_MB.toFixed(0)} MB`;
  console.log(line);
  test.info().annotations.push({ type: 'renderer-memory', description: line });

  expect(heapMB).toBeGreaterThan(0);
  expect(heapMB).toBeLessThan(100);
  // Web Audio buffers live outside the JS heap: the renderer processes as a whole stay below what
  // the decoded song alone would take, and playing + seeking adds only a few chunks' worth.
  expect(after.length).toBeGreaterThan(0);
  expect(rssMB).toBeLessThan(DECODED_WHOLE_MB);
  expect(grewMB).toBeLessThan(250);

  rmSync(dir, { recursive: true, force: true });
});
