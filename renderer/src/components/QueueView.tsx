import { useMemo, useState, type DragEvent } from 'react';
import { useShallow } from 'zustand/react/shallow';
import type { Job } from '../../../preload/contract.ts';
import { useApi, useDemix, useNow } from '../context.tsx';
import { errorMessage } from '../state/store.ts';
import { batchCounts, groupQueue, queuedInOrder } from '../state/order.ts';
import { baseName, formatDuration, providerLabel } from '../format.ts';
import { AddBar } from './AddBar.tsx';
import { Icon } from './Icon.tsx';
import { formatSize, type UploadRow } from '../state/uploads.ts';

const JOB_MIME = 'application/x-demix-job';

export function QueueView() {
  const { jobs, batches, loaded } = useDemix(useShallow((s) => ({ jobs: s.jobs, batches: s.batches, loaded: s.loaded })));
  const items = useMemo(() => groupQueue(jobs, batches), [jobs, batches]);
  const queued = useMemo(() => queuedInOrder(jobs), [jobs]);
  const count = Object.keys(jobs).length;
  const remove = useDemix((s) => s.remove);
  const finished = Object.values(jobs).filter((j) => j.status === 'done' || j.status === 'canceled');
  const uploads = useDemix((s) => s.uploads);

  if (!loaded) return <div className="loading" role="status">Loading the queue…</div>;
  if (count === 0 && uploads.length === 0) return <EmptyState />;

  const summary = [uploads.length > 0 && `${uploads.length} uploading`, summarize(Object.values(jobs))].filter(Boolean).join(' · ');
  return (
    <section className="queue" aria-labelledby="queue-title">
      <div className="section-head">
        <div>
          <h1 id="queue-title">Queue</h1>
          <p className="muted">{summary}</p>
        </div>
        {finished.length > 0 && (
          <div className="section-actions">
            <button
              type="button"
              className="btn btn-sm btn-ghost"
              title="Remove finished and canceled songs from this list (their stems stay on disk)"
              onClick={() => void Promise.all(finished.map((j) => remove(j.id)))}
            >
              <Icon name="check" size={15} /> Clear finished
            </button>
          </div>
        )}
      </div>
      <AddBar />
      <ul className="job-list" aria-label="Jobs">
        {uploads.map((u) => (
          <UploadRowView key={u.key} row={u} />
        ))}
        {items.map((item) =>
          item.kind === 'job' ? (
            <JobRow key={item.job.id} job={item.job} queued={queued} />
          ) : (
            <BatchGroup key={item.batchId} item={item} queued={queued} />
          ),
        )}
      </ul>
      <p className="hint muted">Tip: drop more songs or folders anywhere on this window. Drag queued songs (or use ↑ ↓) to change their order.</p>
    </section>
  );
}

/** A file on its way to the bridge: upload progress, before it becomes a job. */
function UploadRowView({ row }: { row: UploadRow }) {
  const cancelUpload = useDemix((s) => s.cancelUpload);
  const pct = row.total > 0 ? Math.min(100, Math.round((row.loaded / row.total) * 100)) : 0;
  const label = row.status === 'waiting' ? 'Waiting to upload' : row.status === 'adding' ? 'Uploaded' : `Uploading ${pct}%`;
  return (
    <li className={`job job-uploading`} data-status="uploading" data-upload-status={row.status} aria-label={row.name}>
      <div className="job-lead" aria-hidden="true">
        <Icon name="upload" size={18} className="c-upload" />
      </div>
      <div className="job-main">
        <div className="job-top">
          <span className="job-name" title={row.relativePath}>
            {row.relativePath}
          </span>
          <span className="badge badge-uploading">{label}</span>
        </div>
        <div className="progress" role="progressbar" aria-label={`Upload of ${row.name}`} aria-valuemin={0} aria-valuemax={100} aria-valuenow={pct}>
          <div className="progress-fill" style={{ width: `${pct}%` }} />
        </div>
        <div className="job-meta muted">
          <span>
            {formatSize(row.loaded)} of {formatSize(row.total)}
          </span>
          <span>{row.status === 'adding' ? 'adding to the queue…' : 'separation starts once it is uploaded'}</span>
        </div>
      </div>
      <div className="job-actions">
        {row.status !== 'adding' && (
          <button type="button" className="btn btn-sm btn-ghost" onClick={() => cancelUpload(row.key)} aria-label={`Cancel upload of ${row.name}`}>
            <Icon name="x" size={15} /> Cancel
          </button>
        )}
      </div>
    </li>
  );
}

function summarize(jobs: Job[]): string {
  const n = (s: Job['status']) => jobs.filter((j) => j.status === s).length;
  const parts = [
    n('running') && `${n('running')} separating`,
    n('queued') && `${n('queued')} waiting`,
    n('done') && `${n('done')} done`,
    n('failed') && `${n('failed')} failed`,
    n('canceled') && `${n('canceled')} canceled`,
  ].filter(Boolean);
  return parts.join(' · ');
}

function EmptyState() {
  return (
    <section className="empty" aria-labelledby="empty-title">
      <div className="empty-card">
        <div className="empty-art" aria-hidden="true">
          <span style={{ background: 'var(--stem-drums)' }} />
          <span style={{ background: 'var(--stem-bass)' }} />
          <span style={{ background: 'var(--stem-other)' }} />
          <span style={{ background: 'var(--stem-vocals)' }} />
        </div>
        <h1 id="empty-title">Drop songs or folders here</h1>
        <p className="muted">
          Demix splits each song into <b className="c-drums">drums</b>, <b className="c-bass">bass</b>, <b className="c-other">other</b> and{' '}
          <b className="c-vocals">vocals</b> — on your own machine. Drop files anywhere on this window, or add them below.
        </p>
        <AddBar large />
        <p className="formats muted">WAV · FLAC · MP3 · OGG · M4A · AIFF — whole folders are scanned for audio files</p>
      </div>
    </section>
  );
}

function BatchGroup({ item, queued }: { item: Extract<ReturnType<typeof groupQueue>[number], { kind: 'batch' }>; queued: Job[] }) {
  const counts = batchCounts(item.batch, item.jobs);
  const folder = item.batch?.sourceFolder ?? item.jobs[0]?.inputPath.replace(/[\\/][^\\/]*$/, '') ?? '';
  const name = baseName(folder);
  const donePct = counts.total ? (counts.done / counts.total) * 100 : 0;
  const failedPct = counts.total ? (counts.failed / counts.total) * 100 : 0;
  return (
    <li className="batch" aria-label={`Folder ${name}`}>
      <div className="batch-head">
        <Icon name="folder" size={18} />
        <div className="batch-title">
          <span className="batch-name" title={folder}>
            {name}
          </span>
          <span className="batch-counts muted">
            {counts.done} of {counts.total} done
            {counts.failed > 0 && <span className="c-failed"> · {counts.failed} failed</span>}
            {item.batch && item.batch.skipped > 0 && <span> · {item.batch.skipped} skipped</span>}
          </span>
        </div>
        <div className="batch-bar" aria-hidden="true">
          <div className="batch-bar-done" style={{ width: `${donePct}%` }} />
          <div className="batch-bar-failed" style={{ width: `${failedPct}%` }} />
        </div>
      </div>
      <ul className="job-list nested" aria-label={`Songs in ${name}`}>
        {item.jobs.map((job) => (
          <JobRow key={job.id} job={job} queued={queued} />
        ))}
      </ul>
    </li>
  );
}

const STATUS_TEXT: Record<Job['status'], string> = {
  queued: 'Waiting',
  running: 'Separating',
  done: 'Done',
  failed: 'Failed',
  canceled: 'Canceled',
};

export function JobRow({ job, queued }: { job: Job; queued: Job[] }) {
  const api = useApi();
  const toast = useDemix((s) => s.toast);
  const cancel = useDemix((s) => s.cancel);
  const retry = useDemix((s) => s.retry);
  const remove = useDemix((s) => s.remove);
  const move = useDemix((s) => s.move);
  const reorder = useDemix((s) => s.reorder);
  const navigate = useDemix((s) => s.navigate);
  const now = useNow(job.status === 'running');
  const [dropAt, setDropAt] = useState<'before' | 'after' | null>(null);

  const qi = queued.findIndex((j) => j.id === job.id);
  const isQueued = job.status === 'queued';
  const elapsed = job.startedAt ? ((job.finishedAt ?? now) - job.startedAt) / 1000 : null;
  const pct = Math.round(job.progress * 100);

  function onDragStart(e: DragEvent) {
    e.dataTransfer.setData(JOB_MIME, job.id);
    e.dataTransfer.effectAllowed = 'move';
  }
  function onDragOver(e: DragEvent) {
    if (!isQueued || !Array.from(e.dataTransfer.types).includes(JOB_MIME)) return;
    e.preventDefault();
    e.dataTransfer.dropEffect = 'move';
    const r = (e.currentTarget as HTMLElement).getBoundingClientRect();
    setDropAt(e.clientY > r.top + r.height / 2 ? 'after' : 'before');
  }
  function onDrop(e: DragEvent) {
    const id = e.dataTransfer.getData(JOB_MIME);
    const where = dropAt;
    setDropAt(null);
    if (!id || !isQueued || id === job.id) return;
    e.preventDefault();
    let beforeId: string | null = job.id;
    if (where === 'after') {
      const rest = queued.slice(qi + 1).filter((j) => j.id !== id);
      beforeId = rest[0]?.id ?? null;
    }
    void reorder(id, beforeId);
  }

  return (
    <li
      className={`job job-${job.status}`}
      data-status={job.status}
      data-job-id={job.id}
      aria-label={job.name}
      draggable={isQueued}
      onDragStart={isQueued ? onDragStart : undefined}
      onDragOver={onDragOver}
      onDragLeave={() => setDropAt(null)}
      onDrop={onDrop}
      onDoubleClick={job.status === 'done' || job.status === 'running' ? () => navigate({ name: 'player', jobId: job.id }) : undefined}
      data-drop={dropAt ?? undefined}
    >
      <div className="job-lead" aria-hidden="true">
        {isQueued ? <Icon name="grip" size={18} className="grip" /> : <StatusDot status={job.status} />}
      </div>
      <div className="job-main">
        <div className="job-top">
          <span className="job-name" title={job.inputPath}>
            {job.relativePath ?? job.name}
            {job.excerpt && <span className="tag"> {formatSpan(job.excerpt)}</span>}
          </span>
          <span className={`badge badge-${job.status}`}>
            {STATUS_TEXT[job.status]}
            {job.status === 'running' && ` ${pct}%`}
          </span>
        </div>
        {job.status === 'running' && (
          <div
            className="progress"
            role="progressbar"
            aria-label={`Progress of ${job.name}`}
            aria-valuemin={0}
            aria-valuemax={100}
            aria-valuenow={pct}
          >
            <div className="progress-fill" style={{ width: `${pct}%` }} />
          </div>
        )}
        <div className="job-meta muted">
          {job.status === 'queued' && <span>{qi >= 0 ? `#${qi + 1} in line` : 'Waiting'}</span>}
          {job.status === 'running' && (
            <>
              <span title="Time left">
                <Icon name="clock" size={13} /> {job.etaSec != null ? `${formatDuration(job.etaSec)} left` : 'estimating…'}
              </span>
              {job.segmentsTotal > 0 && (
                <span>
                  segment {Math.min(job.segmentsDone + 1, job.segmentsTotal)}/{job.segmentsTotal}
                </span>
              )}
            </>
          )}
          {elapsed != null && job.status !== 'queued' && <span title="Elapsed">{formatDuration(elapsed)} elapsed</span>}
          {job.provider && (
            <span title={job.fallbackReason ? `Execution provider (fallback: ${job.fallbackReason})` : 'Execution provider'} className={job.fallbackReason ? 'job-fallback' : undefined}>
              on {providerLabel(job.provider)}
              {job.fallbackReason && <> (fallback: {job.fallbackReason})</>}
            </span>
          )}
          {job.workerHost && (job.status === 'running' || job.status === 'done') && <span title="Worker (distributed queue)">@ {job.workerHost}</span>}
          {job.status === 'done' && job.stems.length > 0 && <span>{job.stems.length} stems · {job.options.format.toUpperCase()}</span>}
          <span className="job-model">{job.options.modelId}</span>
        </div>
        {job.status === 'failed' && job.error && (
          <p className="job-error" role="note">
            <Icon name="alert" size={14} /> {job.error.message}
          </p>
        )}
      </div>
      <div className="job-actions">
        {job.status === 'done' && (
          <button type="button" className="btn btn-accent btn-sm" onClick={() => navigate({ name: 'player', jobId: job.id })} aria-label={`Open stems of ${job.name}`}>
            <Icon name="headphones" size={15} /> Stems
          </button>
        )}
        {job.status === 'running' && (
          <button
            type="button"
            className="btn btn-accent btn-sm"
            onClick={() => navigate({ name: 'player', jobId: job.id })}
            aria-label={`Play ${job.name} while it separates`}
            title={job.readySamples ? 'Play what is separated so far' : 'Opens the player; audio starts once the first part is separated'}
          >
            <Icon name="play" size={13} /> Play
          </button>
        )}
        {(isQueued || job.status === 'done') && !job.excerpt && (
          <button
            type="button"
            className="btn btn-sm"
            onClick={() =>
              api
                .invoke('jobs:preview', { id: job.id })
                .then((r) => toast({ kind: 'info', title: `Previewing ${r.job.name}`, lines: ['30 s of the song, ahead of the queue.'] }))
                .catch((e) => toast({ kind: 'error', title: 'No preview', lines: [errorMessage(e)] }))
            }
            aria-label={`Preview 30 s of ${job.name}`}
            title="Separate 30 s from a third into the song first, to hear it quickly"
          >
            Preview 30 s
          </button>
        )}
        {job.status === 'done' && api.host === 'electron' && job.outputDir && (
          <button
            type="button"
            className="icon-btn"
            aria-label={`Show stems of ${job.name} in folder`}
            title="Show in folder"
            onClick={() => api.invoke('shell:reveal', { path: job.outputDir! }).catch((e) => toast({ kind: 'error', title: 'Could not show the folder', lines: [errorMessage(e)] }))}
          >
            <Icon name="reveal" size={16} />
          </button>
        )}
        {isQueued && (
          <>
            <button type="button" className="icon-btn" aria-label={`Move ${job.name} up`} title="Move up" disabled={qi <= 0} onClick={() => void move(job.id, -1)}>
              <Icon name="up" size={16} />
            </button>
            <button
              type="button"
              className="icon-btn"
              aria-label={`Move ${job.name} down`}
              title="Move down"
              disabled={qi < 0 || qi >= queued.length - 1}
              onClick={() => void move(job.id, 1)}
            >
              <Icon name="down" size={16} />
            </button>
          </>
        )}
        {(job.status === 'failed' || job.status === 'canceled') && (
          <button type="button" className="btn btn-sm" onClick={() => void retry(job.id)} aria-label={`Retry ${job.name}`}>
            <Icon name="retry" size={15} /> Retry
          </button>
        )}
        {(job.status === 'running' || job.status === 'queued') && (
          <button type="button" className="btn btn-sm btn-ghost" onClick={() => void cancel(job.id)} aria-label={`Cancel ${job.name}`}>
            <Icon name="x" size={15} /> Cancel
          </button>
        )}
        {job.status !== 'running' && (
          <button type="button" className="icon-btn" onClick={() => void remove(job.id)} aria-label={`Remove ${job.name}`} title="Remove from the list (stems stay on disk)">
            <Icon name="trash" size={16} />
          </button>
        )}
      </div>
    </li>
  );
}

function StatusDot({ status }: { status: Job['status'] }) {
  if (status === 'running') return <span className="spinner" />;
  if (status === 'done') return <Icon name="check" size={18} className="c-done" />;
  if (status === 'failed') return <Icon name="alert" size={18} className="c-failed" />;
  return <Icon name="x" size={18} className="muted" />;
}

/** `1:00–1:30` for an excerpt's span. */
function formatSpan(e: { startSec: number; endSec: number }): string {
  const f = (s: number) => `${Math.floor(s / 60)}:${String(Math.floor(s % 60)).padStart(2, '0')}`;
  return `${f(e.startSec)}–${f(e.endSec)}`;
}
