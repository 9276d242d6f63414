/**
 * Test signal renderer for the analysis tests: drum grooves at a known tempo (straight, swung,
 * syncopated, …) and chord progressions in a known key, as planar stereo stems at 44.1 kHz.
 * Deterministic (seeded noise), so test results are reproducible.
 */

import { mulberry32 } from '../prng.ts';

export const SR = 44100;


type Voice = 'kick' | 'snare' | 'hat' | 'openhat' | 'ride' | 'clap' | 'tom';

/** Adds one drum hit at sample `at` (mono). */
function hit(out: Float32Array, at: number, voice: Voice, gain: number, rand: () => number): void {
  const len = voice === 'openhat' || voice === 'ride' ? Math.round(0.35 * SR) : voice === 'kick' || voice === 'tom' ? Math.round(0.3 * SR) : Math.round(0.18 * SR);
  let phase = 0;
  let lp = 0;
  let prevN = 0;
  for (let i = 0; i < len && at + i < out.length; i++) {
    if (at + i < 0) continue;
    const t = i / SR;
    let v = 0;
    switch (voice) {
      case 'kick': {
        const f = 45 + 110 * Math.exp(-t * 35);
        phase += (2 * Math.PI * f) / SR;
        v = Math.sin(phase) * Math.exp(-t * 12);
        break;
      }
      case 'tom': {
        const f = 110 + 60 * Math.exp(-t * 20);
        phase += (2 * Math.PI * f) / SR;
        v = 0.8 * Math.sin(phase) * Math.exp(-t * 10);
        break;
      }
      case 'snare': {
        const n = rand() * 2 - 1;
        lp += 0.5 * (n - lp);
        phase += (2 * Math.PI * 190) / SR;
        v = 0.6 * lp * Math.exp(-t * 22) + 0.5 * Math.sin(phase) * Math.exp(-t * 30);
        break;
      }
      case 'clap': {
        const n = rand() * 2 - 1;
        lp += 0.6 * (n - lp);
        v = 0.8 * lp * Math.exp(-t * 30);
        break;
      }
      case 'hat':
      case 'openhat':
      case 'ride': {
        const n = rand() * 2 - 1;
        const hp = n - prevN; // crude high-pass
        prevN = n;
        const decay = voice === 'hat' ? 60 : voice === 'openhat' ? 9 : 6;
        v = 0.35 * hp * Math.exp(-t * decay);
        if (voice === 'ride') v += 0.05 * Math.sin(2 * Math.PI * 3200 * t) * Math.exp(-t * 5);
        break;
      }
    }
    out[at + i] += gain * v;
  }
}

export interface GrooveHit {
  /** Position in beats from the start of the bar (may be fractional). */
  pos: number;
  voice: Voice;
  gain?: number;
}

export interface Groove {
  name: string;
  /** Beats per bar. */
  beatsPerBar: number;
  hits: GrooveHit[];
}

/** Offbeat eighths moved to the triplet position (2/3 of the beat). */
function swing(pos: number): number {
  const beat = Math.floor(pos);
  const f = pos - beat;
  return Math.abs(f - 0.5) < 1e-9 ? beat + 2 / 3 : pos;
}

const eighths = (voice: Voice, gain = 0.5, beats = 4): GrooveHit[] => Array.from({ length: beats * 2 }, (_, i) => ({ pos: i / 2, voice, gain: i % 2 ? gain * 0.8 : gain }));
const sixteenths = (voice: Voice, gain = 0.4): GrooveHit[] => Array.from({ length: 16 }, (_, i) => ({ pos: i / 4, voice, gain: i % 4 === 0 ? gain : i % 2 ? gain * 0.6 : gain * 0.8 }));

/** Groove patterns a drummer would play; beat 1 = pos 0. */
export const GROOVES: Groove[] = [
  {
    name: 'rock (8th hats, kick 1+3, snare 2+4)',
    beatsPerBar: 4,
    hits: [...eighths('hat'), { pos: 0, voice: 'kick' }, { pos: 2, voice: 'kick' }, { pos: 1, voice: 'snare' }, { pos: 3, voice: 'snare' }],
  },
  {
    name: 'swing (ride spang-a-lang, hat on 2+4, feathered kick)',
    beatsPerBar: 4,
    hits: [
      ...[0, 1, 1.5, 2, 3, 3.5].map((p) => ({ pos: swing(p), voice: 'ride' as Voice, gain: Number.isInteger(p) ? 0.6 : 0.4 })),
      { pos: 1, voice: 'hat', gain: 0.6 },
      { pos: 3, voice: 'hat', gain: 0.6 },
      ...[0, 1, 2, 3].map((p) => ({ pos: p, voice: 'kick' as Voice, gain: 0.35 })),
      { pos: swing(2.5), voice: 'snare', gain: 0.25 },
    ],
  },
  {
    name: 'shuffle (swung 8th hats, kick 1+3 and the swung and-of-2, snare 2+4)',
    beatsPerBar: 4,
    hits: [
      ...eighths('hat').map((h) => ({ ...h, pos: swing(h.pos) })),
      { pos: 0, voice: 'kick' },
      { pos: swing(1.5), voice: 'kick', gain: 0.7 },
      { pos: 2, voice: 'kick' },
      { pos: 1, voice: 'snare' },
      { pos: 3, voice: 'snare' },
    ],
  },
  {
    name: 'syncopated funk (16th hats, kick 1, and-of-2, a-of-3, snare 2+4 with ghost notes)',
    beatsPerBar: 4,
    hits: [
      ...sixteenths('hat'),
      { pos: 0, voice: 'kick' },
      { pos: 1.5, voice: 'kick', gain: 0.8 },
      { pos: 2.75, voice: 'kick', gain: 0.8 },
      { pos: 1, voice: 'snare' },
      { pos: 3, voice: 'snare' },
      { pos: 1.75, voice: 'snare', gain: 0.15 },
      { pos: 3.25, voice: 'snare', gain: 0.15 },
    ],
  },
  {
    name: 'syncopated pop (8th hats, kick 1, and-of-1, and-of-3, snare 2+4)',
    beatsPerBar: 4,
    hits: [...eighths('hat'), { pos: 0, voice: 'kick' }, { pos: 0.5, voice: 'kick', gain: 0.7 }, { pos: 2.5, voice: 'kick', gain: 0.8 }, { pos: 1, voice: 'snare' }, { pos: 3, voice: 'snare' }],
  },
  {
    name: 'four on the floor (kick every beat, clap 2+4, offbeat open hat)',
    beatsPerBar: 4,
    hits: [
      ...[0, 1, 2, 3].map((p) => ({ pos: p, voice: 'kick' as Voice })),
      { pos: 1, voice: 'clap' },
      { pos: 3, voice: 'clap' },
      ...[0.5, 1.5, 2.5, 3.5].map((p) => ({ pos: p, voice: 'openhat' as Voice, gain: 0.4 })),
    ],
  },
];

export interface RenderGrooveOptions {
  bpm: number;
  groove: Groove;
  seconds: number;
  seed?: number;
  /** Random timing error per hit, ±ms (a human drummer). */
  jitterMs?: number;
  /** Seconds of silence before the first downbeat. */
  offsetSec?: number;
}

/** A mono drum track (Float32Array at SR) and the true beat times. */
export function renderGroove(o: RenderGrooveOptions): { audio: Float32Array; beats: number[]; downbeats: number[] } {
  const rand = mulberry32(o.seed ?? 1);
  const out = new Float32Array(Math.round(o.seconds * SR));
  const beatSec = 60 / o.bpm;
  const off = o.offsetSec ?? 0;
  const beats: number[] = [];
  const downbeats: number[] = [];
  for (let bar = 0; ; bar++) {
    const barStart = off + bar * o.groove.beatsPerBar * beatSec;
    if (barStart >= o.seconds) break;
    downbeats.push(barStart);
    for (let b = 0; b < o.groove.beatsPerBar; b++) if (barStart + b * beatSec < o.seconds) beats.push(barStart + b * beatSec);
    for (const h of o.groove.hits) {
      const jitter = o.jitterMs ? ((rand() * 2 - 1) * o.jitterMs) / 1000 : 0;
      const at = Math.round((barStart + h.pos * beatSec + jitter) * SR);
      if (at < out.length) hit(out, at, h.voice, (h.gain ?? 1) * (0.9 + 0.2 * rand()), rand);
    }
  }
  return { audio: out, beats, downbeats };
}

/** Additive tone with a few harmonics and a soft attack/decay. */
function addNote(out: Float32Array, midi: number, start: number, dur: number, gain: number, harmonics = [1, 0.5, 0.33, 0.25, 0.2]): void {
  const f0 = 440 * 2 ** ((midi - 69) / 12);
  const s0 = Math.round(start * SR);
  const n = Math.round(dur * SR);
  for (let i = 0; i < n && s0 + i < out.length; i++) {
    const t = i / SR;
    const env = Math.min(1, t / 0.01) * Math.exp(-t * 1.5) * Math.min(1, (dur - t) / 0.02);
    let v = 0;
    for (let h = 0; h < harmonics.length; h++) {
      const f = f0 * (h + 1);
      if (f > SR / 2 - 1000) break;
      v += harmonics[h] * Math.sin(2 * Math.PI * f * t);
    }
    out[s0 + i] += gain * env * v;
  }
}

/** Scale degrees (semitones from the tonic) of diatonic triads, with the minor's raised 7th on V. */
const MAJOR_TRIADS: Record<string, number[]> = { I: [0, 4, 7], ii: [2, 5, 9], iii: [4, 7, 11], IV: [5, 9, 12], V: [7, 11, 14], vi: [9, 12, 16], V7: [7, 11, 14, 17] };
const MINOR_TRIADS: Record<string, number[]> = { i: [0, 3, 7], iv: [5, 8, 12], v: [7, 10, 14], V: [7, 11, 14], VI: [8, 12, 15], III: [3, 7, 10], VII: [10, 14, 17], iio: [2, 5, 8] };

/** Common progressions, in Roman numerals of the key's own triads. */
export const PROGRESSIONS = {
  major: [
    ['I', 'IV', 'V', 'I'],
    ['I', 'vi', 'IV', 'V'],
    ['I', 'V', 'vi', 'IV'],
    ['ii', 'V7', 'I', 'I'],
  ],
  minor: [
    ['i', 'iv', 'V', 'i'],
    ['i', 'VI', 'III', 'VII'],
    ['i', 'VII', 'VI', 'V'],
    ['i', 'iv', 'v', 'i'],
  ],
} as const;

/**
 * A chord progression in `tonic` (0 = C) and `mode`: block chords in the middle register
 * (`other`) and the chord roots in the bass (`bass`), mono at SR. The progression is played
 * `repeats` times and ends on the tonic chord held for two chord lengths (a cadence: loops such
 * as i–VI–III–VII are the same chords as their relative major's vi–IV–I–V, and only where the
 * music comes to rest tells the two keys apart).
 */
export function renderProgression(tonic: number, mode: 'major' | 'minor', chords: readonly string[], opts: { chordSec?: number; repeats?: number } = {}): { other: Float32Array; bass: Float32Array } {
  const chordSec = opts.chordSec ?? 2;
  const repeats = opts.repeats ?? 2;
  const tonicChord = mode === 'major' ? 'I' : 'i';
  const total = (chords.length * repeats + 2) * chordSec;
  const other = new Float32Array(Math.round(total * SR));
  const bass = new Float32Array(Math.round(total * SR));
  const table = mode === 'major' ? MAJOR_TRIADS : MINOR_TRIADS;
  let t = 0;
  const sequence = [...Array.from({ length: repeats }, () => chords).flat(), tonicChord];
  for (const c of sequence) {
      const dur = c === tonicChord && t >= chords.length * repeats * chordSec ? 2 * chordSec : chordSec;
      const degrees = table[c];
      if (!degrees) throw new Error(`unknown chord ${c}`);
      // voice the chord around middle C..G4
      for (const d of degrees) {
        let midi = 60 + ((tonic + d) % 12);
        if (midi > 67) midi -= 12;
        addNote(other, midi, t, dur, 0.12);
      }
      const root = 36 + ((tonic + degrees[0]) % 12);
      addNote(bass, root, t, dur / 2, 0.3, [1, 0.4, 0.2]);
      addNote(bass, root, t + dur / 2, dur / 2, 0.25, [1, 0.4, 0.2]);
      t += dur;
    }
  return { other, bass };
}
