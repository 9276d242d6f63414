import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import type { Job, ResponseOf } from '../../../preload/contract.ts';
import { useApi, useDemix } from '../context.tsx';
import { effectiveGains } from '../state/mixer.ts';
import { errorMessage } from '../state/store.ts';
import { HttpPcmSource, MixPlayer } from '../player/mix-player.ts';
import { baseName, formatClock, stemLabel } from '../format.ts';
import { Icon } from './Icon.tsx';
import { Waveform } from './Waveform.tsx';
import { DragOut } from './DragOut.tsx';
import { ExportDialog } from './ExportDialog.tsx';
import { usePalette } from './usePalette.ts';
import { SongFacts } from './SongFacts.tsx';
import { PracticeBar, usePracticeAudio, usePracticeKeys } from './PracticeBar.tsx';
import { normalizeLoop, snapToBeats, usePractice, type Loop } from '../player/practice-store.ts';

const KNOWN_COLORS = new Set(['drums', 'bass', 'other', 'vocals', 'guitar', 'piano', 'mix']);

export function PlayerView({ jobId }: { jobId: string }) {
  const job = useDemix((s) => s.jobs[jobId]);
  const navigate = useDemix((s) => s.navigate);
  if (!job || (job.status !== 'done' && job.status !== 'running')) {
    return (
      <section className="player">
        <div className="player-missing">
          <p>{job ? (job.status === 'queued' ? 'This song has not started separating yet.' : 'This song has no stems to play.') : 'This song is no longer in the queue.'}</p>
          <button type="button" className="btn" onClick={() => navigate({ name: 'queue' })}>
            Back to the queue
          </button>
        </div>
      </section>
    );
  }
  return <StreamGate job={job} />;
}

/** Loads what the player needs to stream (stem names, length), also for a job still running. */
function StreamGate({ job }: { job: Job }) {
  const api = useApi();
  const [info, setInfo] = useState<ResponseOf<'jobs:stream-info'> | null>(null);
  const [error, setError] = useState<string | null>(null);
  const done = job.status === 'done';
  useEffect(() => {
    let cancelled = false;
    api
      .invoke('jobs:stream-info', { id: job.id })
      .then((i) => !cancelled && setInfo(i))
      .catch((e) => !cancelled && setError(errorMessage(e)));
    return () => {
      cancelled = true;
    };
    // Asked again when the job finishes (exact length, stems on disk).
  }, [api, job.id, done]);
  if (error) {
    return (
      <section className="player">
        <p className="banner banner-error" role="alert">
          Cannot open the player: {error}
        </p>
      </section>
    );
  }
  if (!info || info.stems.length === 0) return <section className="player" aria-busy="true" />;
  return <Player job={job} info={info} />;
}

function Player({ job, info }: { job: Job; info: ResponseOf<'jobs:stream-info'> }) {
  const api = useApi();
  const navigate = useDemix((s) => s.navigate);
  const toast = useDemix((s) => s.toast);
  const openMixer = useDemix((s) => s.openMixer);
  const mixer = useDemix((s) => s.mixer);
  const toggleMute = useDemix((s) => s.toggleMute);
  const toggleSolo = useDemix((s) => s.toggleSolo);
  const setVolume = useDemix((s) => s.setVolume);
  const color = usePalette();

  const stemKey = info.stems.join('\n');
  const stems = useMemo(() => stemKey.split('\n'), [stemKey]);
  const tracks = useMemo(() => [...stems, 'mix'], [stems]);
  const duration = job.durationSec ?? job.stems[0]?.durationSec ?? info.durationSec ?? 0;
  const sr = info.sampleRate;
  const running = job.status === 'running';
  const readySamples = running ? (job.readySamples ?? 0) : null;
  const readySec = readySamples === null ? duration : Math.min(duration, readySamples / sr);

  const [player, setPlayer] = useState<MixPlayer | null>(null);
  const [peaks, setPeaks] = useState<Record<string, number[]> | null>(null);
  const [peaksError, setPeaksError] = useState<string | null>(null);
  const [playing, setPlaying] = useState(false);
  const [buffering, setBuffering] = useState(false);
  const [time, setTime] = useState(0);
  const [zoom, setZoom] = useState(0);
  const [scroll, setScroll] = useState(0);
  const [exportOpen, setExportOpen] = useState(false);
  // Taller waveforms on tall windows, shorter ones at 800×600 so all five tracks fit.
  const [waveH] = useState(() => (window.innerHeight < 720 ? 50 : window.innerHeight >= 950 ? 92 : 64));
  const playerRef = useRef<MixPlayer | null>(null);

  useEffect(() => openMixer(job.id, stems), [job.id, stems, openMixer]);
  useEffect(() => usePractice.getState().openJob(job.id), [job.id]);

  const durationRef = useRef(duration);
  durationRef.current = duration;
  const readyRef = useRef(readySamples);
  readyRef.current = readySamples;
  // One Web Audio player per song; it lives across running → done (same stems, same clock).
  const durationKnown = duration > 0;
  useEffect(() => {
    if (!durationKnown) return;
    let p: MixPlayer;
    try {
      p = new MixPlayer({
      tracks,
      sampleRate: sr,
      totalFrames: Math.round(durationRef.current * sr),
      readyFrames: readyRef.current ?? Infinity,
      source: new HttpPcmSource((t) => api.mediaUrl(job.id, t)),
      onState: (st) => {
        setPlaying(st !== 'paused');
        setBuffering(st === 'buffering');
      },
      onEnded: () => setTime(0),
      onError: (stem, message) => toast({ kind: 'error', title: `Cannot play ${stemLabel(stem).toLowerCase()}`, lines: [message] }),
    });
    } catch (e) {
      setPeaksError(`this window cannot play audio (${errorMessage(e)})`);
      return;
    }
    playerRef.current = p;
    setPlayer(p);
    return () => {
      playerRef.current = null;
      p.destroy();
    };
  }, [api, job.id, tracks, sr, durationKnown, toast]);

  // The ready edge moves while the job runs; at the end the exact length is known.
  useEffect(() => {
    if (!player) return;
    player.setReady(readySamples ?? Infinity);
  }, [player, readySamples]);
  useEffect(() => {
    if (player && duration > 0) player.setLength(Math.round(duration * sr));
  }, [player, duration, sr]);

  // Peaks: once for a finished job; while running, again as more is separated (the finished
  // part is drawn, the rest stays flat and is marked pending).
  const peaksReadyBucket = running ? Math.floor(readySec / 5) : -1;
  useEffect(() => {
    if (!durationKnown) return;
    let cancelled = false;
    const buckets = Math.max(1000, Math.min(20_000, Math.round(duration * 100)));
    Promise.all(
      tracks.map((stem) =>
        api.invoke('jobs:peaks', { id: job.id, stem, buckets: running && stem !== 'mix' ? Math.max(16, Math.round((buckets * readySec) / duration)) : buckets }).then((p) => {
          if (!running || stem === 'mix') return [stem, p.peaks] as const;
          // The prefix's peaks, placed on the whole song's timeline.
          const full = new Array<number>(buckets).fill(0);
          const n = Math.min(buckets, Math.round((buckets * p.durationSec) / duration));
          for (let i = 0; i < n; i++) full[i] = p.peaks[Math.min(p.peaks.length - 1, Math.floor((i * p.peaks.length) / Math.max(1, n)))] ?? 0;
          return [stem, full] as const;
        }),
      ),
    )
      .then((all) => !cancelled && setPeaks(Object.fromEntries(all)))
      .catch((e) => !cancelled && setPeaksError(errorMessage(e)));
    return () => {
      cancelled = true;
    };
    // Refreshed per 5 s of progress (peaksReadyBucket), not on every progress event.
  }, [api, job.id, tracks, duration, durationKnown, running, peaksReadyBucket]);

  // Gains the graph really has (shown as data-gain on each track, for tests and inspection).
  const [applied, setApplied] = useState<Record<string, number>>({});
  useEffect(() => {
    if (!player) return;
    player.setGains(effectiveGains(mixer));
    setApplied(player.gainTargets);
  }, [player, mixer]);

  // The time readout (and every waveform's cursor) follows the player's one clock.
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

  // Practice: tempo/pitch, loop and click applied to the player; count-in before playback.
  const onPracticeError = useCallback((title: string, message: string) => toast({ kind: 'error', title, lines: [message] }), [toast]);
  const { audio: practiceAudio, stretch } = usePracticeAudio(player, job, onPracticeError);
  const loop = usePractice((s) => s.loop);
  const loopOn = usePractice((s) => s.loopOn);
  const countIn = usePractice((s) => s.countIn);
  const [loopDraft, setLoopDraft] = useState<Loop | null>(null);

  const togglePlay = useCallback(() => {
    if (!player) return;
    const start = !player.isPlaying && countIn && practiceAudio && job.bpm ? practiceAudio.playWithCountIn(job.bpm) : player.toggle();
    start.catch((e) => toast({ kind: 'error', title: 'Playback did not start', lines: [errorMessage(e)] }));
  }, [player, toast, countIn, practiceAudio, job.bpm]);

  const seek = useCallback(
    (t: number) => {
      if (!player) return;
      player.seek(t);
      setTime(t);
    },
    [player],
  );

  // A drag across any waveform marks the loop (snapped to beats unless Alt is held); on release it
  // becomes the loop, turned on, and playback goes to its start.
  const beats = job.beats;
  const onLoopDrag = useCallback(
    (a: number, b: number, e: { altKey: boolean; done: boolean }) => {
      const snap = (t: number) => (e.altKey ? t : snapToBeats(t, beats));
      const l = normalizeLoop({ start: snap(a), end: snap(b) });
      if (!e.done) {
        setLoopDraft(l);
        return;
      }
      setLoopDraft(null);
      if (!l) return;
      const s = usePractice.getState();
      s.setLoop(l);
      s.setLoopOn(true);
      seek(l.start);
    },
    [beats, seek],
  );
  const playhead = useCallback(() => playerRef.current?.currentTime ?? 0, []);
  usePracticeKeys({ enabled: !exportOpen, time: playhead, duration, beats });

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
            {formatClock(duration)} · {stems.length} stems · {job.options.format.toUpperCase()}
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
        {buffering && (
          <span className="buffering" role="status" data-testid="buffering">
            Waiting for the separation…
          </span>
        )}
        {running && !buffering && (
          <span className="muted ready-note" role="status" data-testid="ready-note">
            Separated {formatClock(readySec)} of {formatClock(duration)} — play what is ready
          </span>
        )}
        <div className="transport-spacer" />
        <label className="zoom">
          <Icon name="zoom" size={16} />
          <span className="sr-only">Zoom</span>
          <input type="range" min={0} max={400} step={10} value={zoom} onChange={(e) => setZoom(Number(e.target.value))} aria-label="Zoom" />
        </label>
        <button type="button" className="btn btn-accent" onClick={() => setExportOpen(true)} disabled={running} title={running ? 'Mixdowns need the finished stems' : undefined}>
          <Icon name="mix" size={16} /> Export mixdown…
        </button>
      </div>

      <PracticeBar job={job} stems={stems} duration={duration} time={time} stretch={stretch} onSeek={seek} />

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
          const p = peaks?.[stem];
          const file = stem === 'mix' ? baseName(job.inputPath) : baseName(job.stems.find((s) => s.name === stem)?.path ?? `${stem}.${job.options.format}`);
          const silent = (gains[stem] ?? 0) === 0;
          return (
            <div
              key={stem}
              className={`track ${stem === 'mix' ? 'track-mix' : ''} ${silent ? 'track-silent' : ''}`}
              role="group"
              aria-label={`${label} track`}
              data-stem={stem}
              data-gain={applied[stem]}
            >
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
                  {!running && <DragOut jobId={job.id} stem={stem} fileName={file} label={label} compact />}
                </div>
              </div>
              <div className="track-wave">
                {player && p ? (
                  <Waveform
                    time={time}
                    pending={running && stem !== 'mix' && duration > 0 ? 1 - readySec / duration : 0}
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
                    loop={loopDraft ?? loop}
                    loopOn={loopDraft ? true : loopOn}
                    onLoopDrag={onLoopDrag}
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
        Space plays and pauses · click a waveform to jump there · drag across it to loop (A / B set the ends, L toggles, Alt: no snapping) · M mutes, S solos · drag the {api.host === 'electron' ? <Icon name="drag" size={12} /> : <Icon name="download" size={12} />} handle into your DAW
      </p>
      {exportOpen && <ExportDialog job={job} onClose={() => setExportOpen(false)} />}
    </section>
  );
}

function maxOf(a: number[] | undefined): number {
  let m = 0;
  if (a) for (const v of a) if (Math.abs(v) > m) m = Math.abs(v);
  return m;
}
