/**
 * Practice settings of the stem player (loop, tempo, pitch, count-in, click) as one zustand store,
 * plus the pure math the player and the export share:
 *
 * - Tempo is played by varispeed (`MixPlayer.setRate(tempo / 100)`), which also moves the pitch by
 *   12·log2(tempo/100) semitones; the time-stretch insert transposes by `pitchShiftSemitones()`,
 *   which undoes that and adds the pitch the user asked for. Tempo 100 % + pitch 0 is a bypass
 *   (`isBypass`): no insert, default playback untouched.
 * - Loops are in song seconds; `snapToBeats` puts an edge on the job's beat grid when it has one.
 */
import { create } from 'zustand';

export const TEMPO_MIN = 50;
export const TEMPO_MAX = 150;
export const SEMITONES_MIN = -12;
export const SEMITONES_MAX = 12;
export const CENTS_MIN = -50;
export const CENTS_MAX = 50;
/** Shortest loop kept (seconds); a shorter drag is a click, not a region. */
export const MIN_LOOP_SEC = 0.05;

export interface Loop {
  start: number;
  end: number;
}

export interface PracticeState {
  /** Job these settings were last used with (a different job clears the loop). */
  jobId: string | null;
  /** Percent of the original tempo, 50..150. */
  tempo: number;
  /** Transposition in semitones, -12..12 (integer). */
  semitones: number;
  /** Fine transposition in cents, -50..50 (integer). */
  cents: number;
  /** Loop region in song seconds (start < end), or null for none. */
  loop: Loop | null;
  /** Whether the loop region is played as a loop. */
  loopOn: boolean;
  /** One bar of clicks before playback starts. */
  countIn: boolean;
  /** A click on every beat of the grid while playing. */
  click: boolean;
  /** Click level 0..1. */
  clickLevel: number;
  /** Stem the "practice" preset muted (the part the musician plays), or null. */
  practiceStem: string | null;

  setTempo(pct: number): void;
  setSemitones(st: number): void;
  setCents(c: number): void;
  /** Sets the region (edges in any order; shorter than MIN_LOOP_SEC or invalid → no loop). */
  setLoop(loop: Loop | null): void;
  setLoopOn(on: boolean): void;
  toggleLoop(): void;
  setCountIn(on: boolean): void;
  setClick(on: boolean): void;
  setClickLevel(level: number): void;
  setPracticeStem(stem: string | null): void;
  /** Called when the player opens a job: keeps tempo/pitch, clears a loop that belonged to another job. */
  openJob(jobId: string): void;
  /** Back to defaults (tempo 100 %, pitch 0, no loop, no click). */
  reset(): void;
}

function clampNum(v: number, lo: number, hi: number, fallback: number): number {
  return Number.isFinite(v) ? Math.min(hi, Math.max(lo, v)) : fallback;
}

export function clampTempo(pct: number): number {
  return Math.round(clampNum(pct, TEMPO_MIN, TEMPO_MAX, 100));
}
export function clampSemitones(st: number): number {
  return Math.round(clampNum(st, SEMITONES_MIN, SEMITONES_MAX, 0));
}
export function clampCents(c: number): number {
  return Math.round(clampNum(c, CENTS_MIN, CENTS_MAX, 0));
}

/** A valid loop (start < end, both finite and ≥ 0, at least MIN_LOOP_SEC long) or null. */
export function normalizeLoop(loop: Loop | null): Loop | null {
  if (!loop) return null;
  const a = Math.max(0, loop.start);
  const b = Math.max(0, loop.end);
  if (!Number.isFinite(a) || !Number.isFinite(b)) return null;
  const start = Math.min(a, b);
  const end = Math.max(a, b);
  return end - start >= MIN_LOOP_SEC ? { start, end } : null;
}

/**
 * Semitones the time-stretch must transpose by so that varispeed at `tempoPct` plus the stretch
 * sounds `semis + cents/100` away from the original: varispeed raises the pitch by
 * 12·log2(tempoPct/100), the stretch takes it back.
 */
export function pitchShiftSemitones(tempoPct: number, semis: number, cents: number): number {
  return semis + cents / 100 - 12 * Math.log2(tempoPct / 100);
}

/** Tempo 100 % and no transposition: play without an insert. */
export function isBypass(tempoPct: number, semis: number, cents: number): boolean {
  return Math.round(tempoPct) === 100 && Math.round(semis) === 0 && Math.round(cents) === 0;
}

/**
 * The beat nearest to `t` (seconds) on a grid of ascending beat times; `t` itself when there is
 * no grid.
 */
export function snapToBeats(t: number, beats: readonly number[] | null | undefined): number {
  if (!beats || beats.length === 0 || !Number.isFinite(t)) return t;
  let lo = 0;
  let hi = beats.length - 1;
  if (t <= beats[lo]) return beats[lo];
  if (t >= beats[hi]) return beats[hi];
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (beats[mid] <= t) lo = mid;
    else hi = mid;
  }
  return t - beats[lo] <= beats[hi] - t ? beats[lo] : beats[hi];
}

/** Label of a practice setting for names and badges, e.g. "80% -2st", "100% +1st +20c", "" at bypass. */
export function practiceSuffix(tempoPct: number, semis: number, cents: number): string {
  if (isBypass(tempoPct, semis, cents)) return '';
  const parts = [`${Math.round(tempoPct)}%`];
  const st = Math.round(semis);
  const c = Math.round(cents);
  if (st !== 0) parts.push(`${st > 0 ? '+' : ''}${st}st`);
  if (c !== 0) parts.push(`${c > 0 ? '+' : ''}${c}c`);
  return parts.join(' ');
}

const DEFAULTS = {
  jobId: null,
  tempo: 100,
  semitones: 0,
  cents: 0,
  loop: null,
  loopOn: false,
  countIn: false,
  click: false,
  clickLevel: 0.6,
  practiceStem: null,
} satisfies Partial<PracticeState>;

export const usePractice = create<PracticeState>()((set, get) => ({
  ...DEFAULTS,
  setTempo: (pct) => set({ tempo: clampTempo(pct) }),
  setSemitones: (st) => set({ semitones: clampSemitones(st) }),
  setCents: (c) => set({ cents: clampCents(c) }),
  setLoop: (loop) => {
    const l = normalizeLoop(loop);
    set(l ? { loop: l } : { loop: null, loopOn: false });
  },
  setLoopOn: (on) => set({ loopOn: on && get().loop !== null }),
  toggleLoop: () => get().setLoopOn(!get().loopOn),
  setCountIn: (on) => set({ countIn: on }),
  setClick: (on) => set({ click: on }),
  setClickLevel: (level) => set({ clickLevel: clampNum(level, 0, 1, DEFAULTS.clickLevel) }),
  setPracticeStem: (stem) => set({ practiceStem: stem }),
  openJob: (jobId) => {
    if (get().jobId !== jobId) set({ jobId, loop: null, loopOn: false, practiceStem: null });
  },
  reset: () => set({ ...DEFAULTS, jobId: get().jobId }),
}));

/**
 * The mixer for the "practice" preset: `stem` muted (the part the musician plays), every other stem
 * audible at 100 %, no solo, the original mix stays as it was (a reference, normally muted).
 */
export function practiceMixer<M extends { tracks: Record<string, { muted: boolean; solo: boolean; volume: number }> }>(m: M, stem: string | null): M {
  const tracks: Record<string, { muted: boolean; solo: boolean; volume: number }> = { ...m.tracks };
  for (const [name, t] of Object.entries(m.tracks)) {
    if (name === 'mix') tracks[name] = { ...t, solo: false };
    else tracks[name] = { muted: name === stem, solo: false, volume: 1 };
  }
  return { ...m, tracks };
}

/**
 * A loop to start practising from `t` when there is none: four bars (16 beats) of the grid from
 * the beat nearest `t`, else 8 seconds; kept inside the song.
 */
export function defaultLoop(t: number, duration: number, beats: readonly number[] | null | undefined): Loop | null {
  let start = Math.max(0, Math.min(t, duration));
  let end = start + 8;
  if (beats && beats.length > 1) {
    start = snapToBeats(start, beats);
    const i = beats.indexOf(start);
    end = i + 16 < beats.length ? beats[i + 16] : beats[i] + 16 * ((beats[beats.length - 1] - beats[0]) / (beats.length - 1));
  }
  end = Math.min(end, duration);
  // Too near the end for a useful loop: the last 8 s (on a beat) instead.
  if (end - start < 1) start = Math.max(0, beats && beats.length > 1 ? snapToBeats(end - 8, beats) : end - 8);
  return normalizeLoop({ start, end });
}
