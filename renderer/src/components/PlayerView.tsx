import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import type { Job } from '../../../preload/contract.ts';
import { useApi, useDemix } from '../context.tsx';
import { effectiveGains } from '../state/mixer.ts';
import { errorMessage } from '../state/store.ts';
import { StemPlayer } from '../player/stem-player.ts';
import { baseName, formatClock, stemLabel } from '../format.ts';
import { Icon } from './Icon.tsx';
import { Waveform } from './Waveform.tsx';
import { DragOut } from './DragOut.tsx';
import { ExportDialog } from './ExportDialog.tsx';
import { usePalette } from './usePalette.ts';
import { SongFacts } from './SongFacts.tsx';

const KNOWN_COLORS = new Set(['drums', 'bass', 'other', 'vocals', 'guitar', 'piano', 'mix']);

export function PlayerView({ jobId }: { jobId: string }) {
  const job = useDemix((s) => s.jobs[jobId]);
  const navigate = useDemix((s) => s.navigate);
  if (!job || job.status !== 'done') {
    return (
      <section className="player">
        <div className="player-missing">
          <p>{job ? 'This song has not finished separating yet.' : 'This song is no longer in the queue.'}</p>
          <button type="button" className="btn" onClick={() => navigate({ name: 'queue' })}>
            Back to the queue
          </button>
        </div>
      </section>
    );
  }
  return <Player job={job} />;
}

function Player({ job }: { job: Job }) {
  const api = useApi();
  const navigate = useDemix((s) => s.navigate);
  const toast = useDemix((s) => s.toast);
  const openMixer = useDemix((s) => s.openMixer);
  const mixer = useDemix((s) => s.mixer);
  const toggleMute = useDemix((s) => s.toggleMute);
  const toggleSolo = useDemix((s) => s.toggleSolo);
  const setVolume = useDemix((s) => s.setVolume);
  const color = usePalette();

  const stems = useMemo(() => job.stems.map((s) => s.name), [job.stems]);
  const tracks = useMemo(() => [...stems, 'mix'], [stems]);
  const duration = job.durationSec ?? job.stems[0]?.durationSec ?? 0;

  const [player, setPlayer] = useState<StemPlayer | null>(null);
  const [peaks, setPeaks] = useState<Record<string, number[]> | null>(null);
  const [peaksError, setPeaksError] = useState<string | null>(null);
  const [playing, setPlaying] = useState(false);
  const [time, setTime] = useState(0);
  const [zoom, setZoom] = useState(0);
  const [scroll, setScroll] = useState(0);
  const [exportOpen, setExportOpen] = useState(false);
  // Taller waveforms on tall windows, shorter ones at 800×600 so all five tracks fit.
  const [waveH] = useState(() => (window.innerHeight < 720 ? 50 : window.innerHeight >= 950 ? 92 : 64));
  const audioHost = useRef<HTMLDivElement>(null);

  useEffect(() => openMixer(job.id, stems), [job.id, stems, openMixer]);

  useEffect(() => {
    const p = new StemPlayer(
      tracks.map((stem) => ({ stem, url: api.mediaUrl(job.id, stem) })),
      duration,
      {
        onPlayState: setPlaying,
        onError: (stem, message) => toast({ kind: 'error', title: `Cannot play ${stemLabel(stem).toLowerCase()}`, lines: [message] }),
      },
      audioHost.current,
    );
    setPlayer(p);
    return () => p.destroy();
  }, [api, job.id, tracks, duration, toast]);

  useEffect(() => {
    let cancelled = false;
    const buckets = Math.max(1000, Math.min(20_000, Math.round(duration * 100)));
    Promise.all(tracks.map((stem) => api.invoke('jobs:peaks', { id: job.id, stem, buckets }).then((p) => [stem, p.peaks] as const)))
      .then((all) => !cancelled && setPeaks(Object.fromEntries(all)))
      .catch((e) => !cancelled && setPeaksError(errorMessage(e)));
    return () => {
      cancelled = true;
    };
  }, [api, job.id, tracks, duration]);

  useEffect(() => {
    player?.setGains(effectiveGains(mixer));
  }, [player, mixer]);

  // The time readout follows the master clock while playing.
  useEffect(() => {
    if (!player || !playing) return;
    let raf = 0;
    const tick = () => {
      setTime(player.currentTime);
      raf = requestAnimationFrame(tick);
    };
    tick();
    return () => cancelAnimationFrame(raf);
  }, [player, playing]);

  const togglePlay = useCallback(() => {
    if (!player) return;
    player.toggle().catch((e) => toast({ kind: 'error', title: 'Playback did not start', lines: [errorMessage(e)] }));
  }, [player, toast]);

  const seek = useCallback(
    (t: number) => {
      if (!player) return;
      player.seek(t);
      setTime(t);
    },
    [player],
  );

  // Space plays/pauses anywhere in the player (except while typing); arrows nudge by 5 s.
  useEffect(() => {
    const typing = (t: EventTarget | null) => t instanceof HTMLElement && (t.tagName === 'TEXTAREA' || t.tagName === 'SELECT' || (t.tagName === 'INPUT' && !['range', 'checkbox', 'radio'].includes((t as HTMLInputElement).type)) || t.isContentEditable);
    const down = (e: KeyboardEvent) => {
      if (exportOpen || typing(e.target) || e.ctrlKey || e.metaKey || e.altKey) return;
      if (e.code === 'Space' || e.key === ' ') {
        e.preventDefault();
        if (!e.repeat) togglePlay();
      }
    };
    const up = (e: KeyboardEvent) => {
      if (!exportOpen && (e.code === 'Space' || e.key === ' ') && !typing(e.target)) e.preventDefault();
    };
    window.addEventListener('keydown', down, true);
    window.addEventListener('keyup', up, true);
    return () => {
      window.removeEventListener('keydown', down, true);
      window.removeEventListener('keyup', up, true);
    };
  }, [togglePlay, exportOpen]);

  // Stems share one scale (so a quiet bass looks quiet next to the drums); the original has its own.
  const stemPeak = useMemo(() => (peaks ? Math.max(0.05, ...stems.map((s) => maxOf(peaks[s]))) : 1), [peaks, stems]);
  const mixPeak = useMemo(() => (peaks ? Math.max(0.05, maxOf(peaks.mix)) : 1), [peaks]);
  const anySolo = Object.values(mixer.tracks).some((t) => t.solo);
  const gains = effectiveGains(mixer);
  const outFolder = job.outputDir ?? job.stems[0]?.path.replace(/[\\/][^\\/]*$/, '') ?? '';

  return (
    <section className="player" aria-labelledby="player-title">
      <div className="player-head">
        <button type="button" className="btn btn-ghost btn-sm" onClick={() => navigate({ name: 'queue' })}>
          <Icon name="back" size={16} /> Queue
        </button>
        <div className="player-title-box">
          <h1 id="player-title" title={job.inputPath}>
            {job.name}
          </h1>
          <p className="muted player-sub">
            {formatClock(duration)} · {job.stems.length} stems · {job.options.format.toUpperCase()}
            {job.options.format !== 'mp3' ? ` ${job.options.bits}-bit` : ''} · {job.options.modelId}
            <span className="player-path" title={outFolder}>
              {' '}
              · {outFolder}
            </span>
          </p>
        </div>
        <SongFacts job={job} />
        {api.host === 'electron' && outFolder && (
          <button
            type="button"
            className="btn btn-sm"
            onClick={() => api.invoke('shell:reveal', { path: outFolder }).catch((e) => toast({ kind: 'error', title: 'Could not show the folder', lines: [errorMessage(e)] }))}
          >
            <Icon name="reveal" size={15} /> Show folder
          </button>
        )}
      </div>

      <div className="transport" role="toolbar" aria-label="Transport">
        <button type="button" className="play-btn" onClick={togglePlay} aria-label={playing ? 'Pause' : 'Play'} disabled={!player} title="Play / pause (Space)">
          <Icon name={playing ? 'pause' : 'play'} size={22} />
        </button>
        <button type="button" className="icon-btn" onClick={() => seek(0)} aria-label="Back to start" title="Back to start">
          <Icon name="stop" size={14} />
        </button>
        <div className="clock" aria-live="off">
          <span className="clock-now" data-testid="clock">{formatClock(time, true)}</span>
          <span className="muted"> / {formatClock(duration, true)}</span>
        </div>
        <div className="transport-spacer" />
        <label className="zoom">
          <Icon name="zoom" size={16} />
          <span className="sr-only">Zoom</span>
          <input type="range" min={0} max={400} step={10} value={zoom} onChange={(e) => setZoom(Number(e.target.value))} aria-label="Zoom" />
        </label>
        <button type="button" className="btn btn-accent" onClick={() => setExportOpen(true)}>
          <Icon name="mix" size={16} /> Export mixdown…
        </button>
      </div>

      {peaksError && (
        <p className="banner banner-error" role="alert">
          Could not draw the waveforms: {peaksError}
        </p>
      )}

      <div className="tracks" aria-label="Stems">
        {tracks.map((stem) => {
          const t = mixer.tracks[stem] ?? { muted: false, solo: false, volume: 1 };
          const label = stemLabel(stem);
          const cssName = KNOWN_COLORS.has(stem) ? stem : 'other';
          const el = player?.elements.get(stem);
          const p = peaks?.[stem];
          const file = stem === 'mix' ? baseName(job.inputPath) : baseName(job.stems.find((s) => s.name === stem)?.path ?? `${stem}.${job.options.format}`);
          const silent = (gains[stem] ?? 0) === 0;
          return (
            <div key={stem} className={`track ${stem === 'mix' ? 'track-mix' : ''} ${silent ? 'track-silent' : ''}`} role="group" aria-label={`${label} track`} data-stem={stem}>
              <div className="track-head">
                <span className="swatch" style={{ background: `var(--stem-${cssName})` }} aria-hidden="true" />
                <div className="track-name">
                  <span>{label}</span>
                  {stem === 'mix' && <span className="tag">reference</span>}
                </div>
                <div className="track-controls">
                  <button type="button" className="ms ms-m" aria-pressed={t.muted} aria-label={`Mute ${label}`} title="Mute" onClick={() => toggleMute(stem)}>
                    M
                  </button>
                  <button type="button" className="ms ms-s" aria-pressed={t.solo} aria-label={`Solo ${label}`} title="Solo" onClick={() => toggleSolo(stem)}>
                    S
                  </button>
                  <input
                    type="range"
                    className="vol"
                    min={0}
                    max={100}
                    value={Math.round(t.volume * 100)}
                    onChange={(e) => setVolume(stem, Number(e.target.value) / 100)}
                    aria-label={`${label} volume`}
                    style={{ ['--fill' as string]: `${t.volume * 100}%` }}
                  />
                  <DragOut jobId={job.id} stem={stem} fileName={file} label={label} compact />
                </div>
              </div>
              <div className="track-wave">
                {el && p ? (
                  <Waveform
                    media={el}
                    peaks={p}
                    duration={duration}
                    height={stem === 'mix' ? Math.round(waveH * 0.7) : waveH}
                    color={color(`--stem-${cssName}-wave`)}
                    progressColor={color(`--stem-${cssName}`)}
                    zoom={zoom}
                    maxPeak={(stem === 'mix' ? mixPeak : stemPeak) * 1.05}
                    label={label}
                    dimmed={silent || (anySolo && !t.solo)}
                    onSeek={seek}
                    onScroll={setScroll}
                    scrollLeft={scroll}
                  />
                ) : (
                  <div className="wave-loading" aria-hidden="true" style={{ height: stem === 'mix' ? Math.round(waveH * 0.7) : waveH }} />
                )}
              </div>
            </div>
          );
        })}
      </div>
      <p className="hint muted">
        Space plays and pauses · click a waveform to jump there · M mutes, S solos · drag the {api.host === 'electron' ? <Icon name="drag" size={12} /> : <Icon name="download" size={12} />} handle into your DAW
      </p>
      <div hidden ref={audioHost} data-testid="audio-host" />
      {exportOpen && <ExportDialog job={job} onClose={() => setExportOpen(false)} />}
    </section>
  );
}

function maxOf(a: number[] | undefined): number {
  let m = 0;
  if (a) for (const v of a) if (Math.abs(v) > m) m = Math.abs(v);
  return m;
}
