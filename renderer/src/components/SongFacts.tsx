import type { Job } from '../../../preload/contract.ts';

/** Tempo and key of a song (from the engine's analysis), as two labelled badges in the player's header. */
export function SongFacts({ job }: { job: Pick<Job, 'bpm' | 'key' | 'keyConfidence'> }) {
  if (job.bpm == null && job.key == null) return null;
  const conf = job.keyConfidence ?? null;
  return (
    <dl className="song-facts" aria-label="Tempo and key">
      {job.bpm != null && (
        <div className="song-fact" data-testid="song-tempo">
          <dt>Tempo</dt>
          <dd>{Math.round(job.bpm)} BPM</dd>
        </div>
      )}
      {job.key != null && (
        <div className="song-fact" data-testid="song-key" title={conf !== null ? `Key confidence ${Math.round(conf * 100)}%` : undefined}>
          <dt>Key</dt>
          <dd>
            {job.key}
            {conf !== null && conf < 0.3 ? <span className="muted"> (?)</span> : null}
          </dd>
        </div>
      )}
    </dl>
  );
}
