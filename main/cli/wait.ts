/**
 * Waits for a set of jobs to finish, drawing progress: on a TTY one line per running file,
 * redrawn in place; otherwise occasional plain lines. Ends with a summary.
 */
import type { Job } from '../../preload/contract.ts';
import type { Core } from '../core.ts';
import { bar, fmtDuration, fmtSeconds, truncate } from './format.ts';

export interface WaitIO {
  out: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  err: NodeJS.WritableStream;
}

export interface WaitSummary {
  done: number;
  failed: number;
  canceled: number;
  providers: Set<string>;
  jobs: Job[];
}

const FINAL = new Set(['done', 'failed', 'canceled']);

export async function waitForJobs(core: Core, ids: string[], io: WaitIO, opts: { signal?: AbortSignal; pollMs?: number } = {}): Promise<WaitSummary> {
  const tty = !!io.out.isTTY && process.env.TERM !== 'dumb';
  const latest = new Map<string, Job>();
  const reported = new Set<string>();
  const lastPlain = new Map<string, { at: number; pct: number }>();
  const started = new Set<string>();
  const fallbacks = new Set<string>();
  let drawn = 0;
  let lastDraw = 0;
  const summary: WaitSummary = { done: 0, failed: 0, canceled: 0, providers: new Set(), jobs: [] };
  const idSet = new Set(ids);

  const clearBlock = () => {
    if (!tty || drawn === 0) return;
    io.out.write(`\x1b[${drawn}F\x1b[J`);
    drawn = 0;
  };
  const drawBlock = (force = false) => {
    if (!tty) return;
    const now = Date.now();
    if (!force && now - lastDraw < 100) return;
    lastDraw = now;
    clearBlock();
    const width = Math.max(40, (io.out.columns ?? 100) - 1);
    const running = [...latest.values()].filter((j) => j.status === 'running');
    const queued = [...latest.values()].filter((j) => j.status === 'queued').length;
    const lines = running.map((j) => {
      const right = ` ${bar(j.progress, 20)} ${String(Math.round(j.progress * 100)).padStart(3)}%  ${j.segmentsTotal ? `seg ${j.segmentsDone}/${j.segmentsTotal}  ` : ''}ETA ${fmtDuration(j.etaSec)}  ${j.provider ?? ''}`;
      return `${truncate(j.name, Math.max(10, width - right.length - 2)).padEnd(Math.max(10, width - right.length - 2))}  ${right}`.slice(0, width);
    });
    if (queued) lines.push(`${queued} waiting`);
    for (const l of lines) io.out.write(`${l}\n`);
    drawn = lines.length;
  };
  const permanent = (line: string) => {
    clearBlock();
    io.out.write(`${line}\n`);
    drawBlock(true);
  };

  const onJob = (j: Job) => {
    if (!idSet.has(j.id) || reported.has(j.id)) return;
    latest.set(j.id, j);
    if (j.fallbackReason && !fallbacks.has(j.fallbackReason)) {
      // Each distinct reason once (a 1,000-file folder on one machine has one).
      fallbacks.add(j.fallbackReason);
      permanent(`! execution provider: ${j.fallbackReason}`);
    }
    if (j.status === 'running' && !started.has(j.id)) {
      started.add(j.id);
      if (!tty) io.out.write(`${j.name}: started${j.provider ? ` (${j.provider})` : ''}\n`);
    }
    if (FINAL.has(j.status)) {
      reported.add(j.id);
      summary.jobs.push(j);
      if (j.provider) summary.providers.add(j.provider);
      const took = j.startedAt && j.finishedAt ? fmtSeconds(j.finishedAt - j.startedAt) : '';
      if (j.status === 'done') {
        summary.done++;
        const via = j.provider === 'cache' ? 'reused from an identical earlier job' : `${took}${j.provider ? `, ${j.provider}` : ''}`;
        permanent(`✓ ${j.name} → ${j.outputDir} (${j.stems.length} stems, ${via})`);
      } else if (j.status === 'failed') {
        summary.failed++;
        permanent(`✗ ${j.name}: ${j.error?.message ?? 'failed'}`);
      } else {
        summary.canceled++;
        permanent(`- ${j.name}: canceled`);
      }
      return;
    }
    if (tty) drawBlock();
    else if (j.status === 'running') {
      const pct = Math.floor(j.progress * 100);
      const prev = lastPlain.get(j.id) ?? { at: Date.now(), pct: 0 };
      if (pct >= prev.pct + 25 || (Date.now() - prev.at > 10_000 && pct > prev.pct)) {
        lastPlain.set(j.id, { at: Date.now(), pct });
        io.out.write(`${j.name}: ${pct}%${j.segmentsTotal ? ` (${j.segmentsDone}/${j.segmentsTotal} segments)` : ''}, ETA ${fmtDuration(j.etaSec)}\n`);
      } else if (!lastPlain.has(j.id)) lastPlain.set(j.id, prev);
    }
  };

  const off = core.bus.on('job-updated', onJob);
  try {
    for (const j of core.jobs.getMany(ids)) onJob(j);
    while (reported.size < idSet.size) {
      if (opts.signal?.aborted) break;
      await new Promise((r) => setTimeout(r, opts.pollMs ?? 500));
      // Safety net, and the only source when another process runs the queue.
      const pending = ids.filter((id) => !reported.has(id));
      const fresh = core.jobs.getMany(pending);
      const found = new Set(fresh.map((j) => j.id));
      for (const j of fresh) onJob(j);
      for (const id of pending) {
        if (!found.has(id) && !reported.has(id)) {
          // Removed by someone else meanwhile.
          reported.add(id);
          summary.canceled++;
          permanent(`- job ${id}: removed`);
        }
      }
    }
  } finally {
    off();
    clearBlock();
  }
  return summary;
}
