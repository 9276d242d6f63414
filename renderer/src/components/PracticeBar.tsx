/**
 * Practice controls of the stem player: loop (drag on a waveform, A / B keys, L toggles), tempo
 * and pitch for every stem together, count-in, click track, and the "practice" preset (one stem
 * muted, the rest at 100 %, loop on). State lives in `usePractice`; the audio in PracticeAudio.
 */
import { useCallback, useEffect, useState } from 'react';
import type { Job } from '../../../preload/contract.ts';
import { useApp, useDemix } from '../context.tsx';
import { formatClock, stemLabel } from '../format.ts';
import type { MixPlayer } from '../player/mix-player.ts';
import { PracticeAudio } from '../player/practice-audio.ts';
import {
  CENTS_MAX,
  CENTS_MIN,
  SEMITONES_MAX,
  SEMITONES_MIN,
  TEMPO_MAX,
  TEMPO_MIN,
  defaultLoop,
  isBypass,
  normalizeLoop,
  practiceMixer,
  snapToBeats,
  usePractice,
  type Loop,
} from '../player/practice-store.ts';
import { errorMessage } from '../state/store.ts';

export type StretchStatus = 'off' | 'loading' | 'on' | 'error';

/**
 * Wires the practice settings to a player: tempo/pitch (debounced while a slider moves), loop,
 * click. Returns the PracticeAudio (for count-in) and the time-stretch status.
 */
export function usePracticeAudio(player: MixPlayer | null, job: Job, onError: (title: string, message: string) => void): { audio: PracticeAudio | null; stretch: StretchStatus } {
  const tempo = usePractice((s) => s.tempo);
  const semitones = usePractice((s) => s.semitones);
  const cents = usePractice((s) => s.cents);
  const loop = usePractice((s) => s.loop);
  const loopOn = usePractice((s) => s.loopOn);
  const click = usePractice((s) => s.click);
  const clickLevel = usePractice((s) => s.clickLevel);
  const [audio, setAudio] = useState<PracticeAudio | null>(null);
  const [stretch, setStretch] = useState<StretchStatus>('off');

  useEffect(() => {
    if (!player) return;
    const a = new PracticeAudio(player);
    setAudio(a);
    return () => {
      a.destroy();
      setAudio(null);
    };
  }, [player]);

  useEffect(() => {
    if (!audio) return;
    let cancelled = false;
    const bypass = isBypass(tempo, semitones, cents);
    if (!bypass && !audio.insertActive) setStretch('loading');
    // Sliders move in steps: apply the last value once they rest for a moment (each apply restarts the sources).
    const t = setTimeout(
      () => {
        audio.setTempoPitch(tempo, semitones, cents).then(
          () => !cancelled && setStretch(audio.insertActive ? 'on' : 'off'),
          (e) => {
            if (cancelled) return;
            setStretch('error');
            onError('Tempo and pitch are not available', errorMessage(e));
          },
        );
      },
      bypass ? 0 : 80,
    );
    return () => {
      cancelled = true;
      clearTimeout(t);
    };
  }, [audio, tempo, semitones, cents, onError]);

  useEffect(() => {
    if (!player) return;
    try {
      player.setLoop(loopOn && loop ? loop : null);
    } catch {
      player.setLoop(null); // outside what the song has (e.g. beyond its end)
    }
  }, [player, loop, loopOn]);

  const beatsKey = (job.beats ?? []).join(',');
  useEffect(() => {
    audio?.setClick(click, clickLevel, job.beats, job.downbeat);
    // job.beats is read through beatsKey (a new array with the same beats changes nothing).
  }, [audio, click, clickLevel, beatsKey, job.downbeat]);

  return { audio, stretch };
}

/** Sets a loop edge at `t` (snapped to the grid unless `noSnap`): A = start, B = end (B turns the loop on). */
export function loopWithEdge(which: 'a' | 'b', t: number, duration: number, loop: Loop | null, beats: readonly number[] | null | undefined, noSnap: boolean): Loop | null {
  const at = noSnap ? t : snapToBeats(t, beats);
  if (which === 'a') return normalizeLoop({ start: at, end: loop && loop.end > at ? loop.end : duration });
  return normalizeLoop({ start: loop && loop.start < at ? loop.start : 0, end: at });
}

/** A, B and L anywhere in the player (not while typing); Alt+A / Alt+B set the edge without snapping. */
export function usePracticeKeys(opts: { enabled: boolean; time: () => number; duration: number; beats: readonly number[] | null | undefined }) {
  const { enabled, time, duration, beats } = opts;
  useEffect(() => {
    if (!enabled) return;
    const typing = (t: EventTarget | null) =>
      t instanceof HTMLElement && (t.tagName === 'TEXTAREA' || t.tagName === 'SELECT' || (t.tagName === 'INPUT' && !['range', 'checkbox', 'radio'].includes((t as HTMLInputElement).type)) || t.isContentEditable);
    const down = (e: KeyboardEvent) => {
      if (typing(e.target) || e.ctrlKey || e.metaKey || e.repeat) return;
      const key = e.code === 'KeyA' ? 'a' : e.code === 'KeyB' ? 'b' : e.code === 'KeyL' ? 'l' : null;
      if (!key) return;
      e.preventDefault();
      const s = usePractice.getState();
      if (key === 'l') {
        if (!s.loop) s.setLoop(defaultLoop(time(), duration, beats));
        s.toggleLoop();
        return;
      }
      s.setLoop(loopWithEdge(key, time(), duration, s.loop, beats, e.altKey));
      if (key === 'b' && usePractice.getState().loop) s.setLoopOn(true);
    };
    window.addEventListener('keydown', down);
    return () => window.removeEventListener('keydown', down);
  }, [enabled, time, duration, beats]);
}

interface BarProps {
  job: Job;
  stems: string[];
  duration: number;
  /** Playhead (seconds), for the preset's default loop. */
  time: number;
  stretch: StretchStatus;
  onSeek(t: number): void;
}

export function PracticeBar({ job, stems, duration, time, stretch, onSeek }: BarProps) {
  const { store } = useApp();
  const mixer = useDemix((s) => s.mixer);
  const p = usePractice();
  const hasGrid = !!job.beats && job.beats.length > 1;

  const choosePractice = useCallback(
    (stem: string) => {
      const chosen = stem === '' ? null : stem;
      p.setPracticeStem(chosen);
      store.setState({ mixer: practiceMixer(mixer, chosen) });
      if (chosen) {
        if (!p.loop) {
          const l = defaultLoop(time, duration, job.beats);
          p.setLoop(l);
          if (l) onSeek(l.start);
        }
        usePractice.getState().setLoopOn(true);
      }
    },
    [p, store, mixer, time, duration, job.beats, onSeek],
  );

  const st = p.semitones;
  const pitchText = `${st > 0 ? '+' : ''}${st} st`;
  const centsText = `${p.cents > 0 ? '+' : ''}${p.cents} c`;
  return (
    <div className="practice" role="toolbar" aria-label="Practice controls" data-stretch={stretch}>
      <div className="practice-group">
        <button
          type="button"
          className="btn btn-sm practice-toggle"
          aria-pressed={p.loopOn}
          disabled={!p.loop}
          onClick={() => p.toggleLoop()}
          title={p.loop ? 'Loop on / off (L)' : 'Drag on a waveform or press A and B to mark a loop'}
        >
          Loop
        </button>
        <span className="practice-loop muted" data-testid="loop-range">
          {p.loop ? `${formatClock(p.loop.start, true)}–${formatClock(p.loop.end, true)}` : 'A / B or drag'}
        </span>
        {p.loop && (
          <button type="button" className="icon-btn practice-clear" aria-label="Clear loop region" title="Clear loop region" onClick={() => p.setLoop(null)}>
            ×
          </button>
        )}
      </div>

      <PracticeSlider label="Tempo" title="Tempo without changing the pitch (50–150 %)" min={TEMPO_MIN} max={TEMPO_MAX} value={p.tempo} reset={100} onChange={p.setTempo} shown={`${p.tempo}%`} spoken={`${p.tempo}%`} />
      <PracticeSlider label="Pitch" title="Pitch in semitones without changing the tempo" min={SEMITONES_MIN} max={SEMITONES_MAX} value={st} reset={0} onChange={p.setSemitones} shown={pitchText} spoken={pitchText.replace('st', 'semitones')} />
      <PracticeSlider
        label="Fine"
        ariaLabel="Fine pitch"
        className="practice-fine"
        title="Fine pitch in cents (to match your tuning)"
        min={CENTS_MIN}
        max={CENTS_MAX}
        value={p.cents}
        reset={0}
        onChange={p.setCents}
        shown={centsText}
        spoken={centsText.replace('c', 'cents')}
      />

      {!isBypass(p.tempo, p.semitones, p.cents) && (
        <button type="button" className="btn btn-sm btn-ghost" onClick={() => (p.setTempo(100), p.setSemitones(0), p.setCents(0))} title="Back to the original tempo and pitch">
          Reset
        </button>
      )}
      {stretch === 'loading' && (
        <span className="muted practice-note" role="status">
          Loading time-stretch…
        </span>
      )}

      <div className="practice-group">
        <button
          type="button"
          className="btn btn-sm practice-toggle"
          aria-pressed={p.countIn}
          disabled={!job.bpm}
          onClick={() => p.setCountIn(!p.countIn)}
          title={job.bpm ? 'One bar of clicks before playback starts' : 'Needs the song’s tempo'}
        >
          Count-in
        </button>
        <button
          type="button"
          className="btn btn-sm practice-toggle"
          aria-pressed={p.click}
          disabled={!hasGrid}
          onClick={() => p.setClick(!p.click)}
          title={hasGrid ? 'A click on every beat' : 'Needs the song’s beat grid'}
        >
          Click
        </button>
        {p.click && (
          <input
            type="range"
            className="practice-level"
            min={0}
            max={100}
            value={Math.round(p.clickLevel * 100)}
            onChange={(e) => p.setClickLevel(Number(e.target.value) / 100)}
            aria-label="Click level"
          />
        )}
      </div>

      <label className="practice-group practice-preset">
        <span className="sr-only">Practice</span>
        <select aria-label="Practice" value={p.practiceStem ?? ''} onChange={(e) => choosePractice(e.target.value)} title="Mute the part you play, loop on">
          <option value="">Play along…</option>
          {stems.map((s) => (
            <option key={s} value={s}>
              Without {stemLabel(s).toLowerCase()}
            </option>
          ))}
        </select>
      </label>
    </div>
  );
}

/** One labelled practice slider (step 1; double-click puts it back to `reset`). */
function PracticeSlider(props: {
  label: string;
  ariaLabel?: string;
  className?: string;
  title: string;
  min: number;
  max: number;
  value: number;
  reset: number;
  onChange: (v: number) => void;
  /** The value as shown beside the slider, and as read out. */
  shown: string;
  spoken: string;
}) {
  return (
    <label className={`practice-group practice-slider${props.className ? ` ${props.className}` : ''}`} title={props.title}>
      <span>{props.label}</span>
      <input
        type="range"
        min={props.min}
        max={props.max}
        step={1}
        value={props.value}
        onChange={(e) => props.onChange(Number(e.target.value))}
        onDoubleClick={() => props.onChange(props.reset)}
        aria-label={props.ariaLabel ?? props.label}
        aria-valuetext={props.spoken}
      />
      <output className="practice-value">{props.shown}</output>
    </label>
  );
}
