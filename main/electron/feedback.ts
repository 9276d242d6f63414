/**
 * Queue feedback outside the window: taskbar/dock progress, a badge with the number of songs
 * waiting, and a system notification when a batch (or a run of single songs) finishes.
 * The decisions are plain functions of the contract events; `attachFeedback` wires them to Electron.
 */
import path from 'node:path';
import { app, Notification, type BrowserWindow } from 'electron';
import type { Batch, Job, QueueState } from '../../preload/contract.ts';
import type { ShellCore } from '../handlers.ts';

export interface FeedbackSink {
  progress(fraction: number | null, paused: boolean): void;
  badge(count: number): void;
  notify(title: string, body: string): void;
}

export function createFeedback(sink: FeedbackSink) {
  const notifiedBatches = new Set<string>();
  let busy = false;
  let singlesDone = 0;
  let singlesFailed = 0;

  return {
    queueState(s: QueueState) {
      const pending = s.queued + s.running;
      sink.progress(pending > 0 ? (s.overallProgress ?? 0) : null, s.paused);
      sink.badge(pending);
      if (pending > 0) {
        busy = true;
        return;
      }
      if (busy && singlesDone + singlesFailed > 0) {
        const n = singlesDone + singlesFailed;
        sink.notify(
          'Demix: separation finished',
          singlesFailed === 0
            ? `${n === 1 ? 'Your song is' : `${n} songs are`} ready.`
            : `${singlesDone} of ${n} songs separated; ${singlesFailed} failed (see the queue).`,
        );
      }
      busy = false;
      singlesDone = 0;
      singlesFailed = 0;
    },
    job(job: Job) {
      if (job.batchId !== null) return;
      if (job.status === 'done') singlesDone++;
      else if (job.status === 'failed') singlesFailed++;
    },
    batch(b: Batch) {
      const finished = b.total > 0 && b.done + b.failed + b.canceled + b.skipped >= b.total;
      if (!finished) {
        notifiedBatches.delete(b.id);
        return;
      }
      if (notifiedBatches.has(b.id)) return;
      notifiedBatches.add(b.id);
      const folder = path.basename(b.sourceFolder) || b.sourceFolder;
      const parts = [`${b.done} of ${b.total} songs separated`];
      if (b.failed) parts.push(`${b.failed} failed`);
      if (b.canceled) parts.push(`${b.canceled} canceled`);
      if (b.skipped) parts.push(`${b.skipped} skipped`);
      sink.notify(`Demix: “${folder}” finished`, parts.join(', ') + '.');
    },
  };
}

export function attachFeedback(core: Pick<ShellCore, 'bus'>, getWindow: () => BrowserWindow | null): () => void {
  const fb = createFeedback({
    progress(fraction, paused) {
      const win = getWindow();
      if (!win || win.isDestroyed()) return;
      win.setProgressBar(fraction === null ? -1 : Math.max(0, Math.min(1, fraction)), { mode: paused ? 'paused' : 'normal' });
    },
    badge(count) {
      if (process.platform === 'darwin' || process.platform === 'linux') app.setBadgeCount(count);
    },
    notify(title, body) {
      const win = getWindow();
      if (win && !win.isDestroyed() && win.isFocused()) return;
      if (!Notification.isSupported()) return;
      const n = new Notification({ title, body });
      n.on('click', () => {
        const w = getWindow();
        if (w && !w.isDestroyed()) {
          if (w.isMinimized()) w.restore();
          w.focus();
        }
      });
      n.show();
    },
  });
  const offs = [core.bus.on('queue-state', fb.queueState), core.bus.on('job-updated', fb.job), core.bus.on('batch-updated', fb.batch)];
  return () => offs.forEach((off) => off());
}
