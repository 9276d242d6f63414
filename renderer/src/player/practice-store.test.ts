import { beforeEach, describe, expect, it } from 'vitest';
import {
  isBypass,
  normalizeLoop,
  pitchShiftSemitones,
  practiceSuffix,
  snapToBeats,
  usePractice,
} from './practice-store.ts';

describe('pitchShiftSemitones', () => {
  it('is the asked pitch when the tempo is unchanged', () => {
    expect(pitchShiftSemitones(100, 0, 0)).toBe(0);
    expect(pitchShiftSemitones(100, -2, 0)).toBe(-2);
    expect(pitchShiftSemitones(100, 3, 25)).toBeCloseTo(3.25, 12);
  });

  it('undoes the varispeed pitch change: half speed is an octave down, so the stretch goes an octave up', () => {
    expect(pitchShiftSemitones(50, 0, 0)).toBeCloseTo(12, 12);
    expect(pitchShiftSemitones(150, 0, 0)).toBeCloseTo(-12 * Math.log2(1.5), 12);
    // 75 % plays 4.98 st low; with -2 st asked the stretch lifts by 2.98 st.
    expect(pitchShiftSemitones(75, -2, 0)).toBeCloseTo(-2 - 12 * Math.log2(0.75), 12);
    expect(pitchShiftSemitones(75, -2, 0)).toBeCloseTo(2.980, 3);
  });

  it('composes: varispeed ratio × stretch ratio = the asked pitch ratio', () => {
    for (const tempo of [50, 70, 75, 100, 123, 150]) {
      for (const [st, c] of [[0, 0], [-12, 0], [12, -50], [5, 50]]) {
        const stretchRatio = 2 ** (pitchShiftSemitones(tempo, st, c) / 12);
        expect((tempo / 100) * stretchRatio).toBeCloseTo(2 ** ((st + c / 100) / 12), 12);
      }
    }
  });
});

describe('snapToBeats', () => {
  const beats = [0.5, 1.0, 1.5, 2.0, 2.5];
  it('goes to the nearest beat', () => {
    expect(snapToBeats(1.2, beats)).toBe(1.0);
    expect(snapToBeats(1.3, beats)).toBe(1.5);
    expect(snapToBeats(1.0, beats)).toBe(1.0);
    expect(snapToBeats(1.25, beats)).toBe(1.0); // a tie goes to the earlier beat
  });
  it('clamps to the first and last beat outside the grid', () => {
    expect(snapToBeats(0, beats)).toBe(0.5);
    expect(snapToBeats(9, beats)).toBe(2.5);
  });
  it('leaves the time alone without a grid', () => {
    expect(snapToBeats(1.234, null)).toBe(1.234);
    expect(snapToBeats(1.234, undefined)).toBe(1.234);
    expect(snapToBeats(1.234, [])).toBe(1.234);
  });
  it('works on a long grid (binary search)', () => {
    const grid = Array.from({ length: 1000 }, (_, i) => i * 0.5);
    expect(snapToBeats(123.26, grid)).toBe(123.5);
    expect(snapToBeats(123.24, grid)).toBe(123.0);
  });
});

describe('loop normalisation, bypass and suffix', () => {
  it('orders the edges and drops tiny or invalid loops', () => {
    expect(normalizeLoop({ start: 4, end: 2 })).toEqual({ start: 2, end: 4 });
    expect(normalizeLoop({ start: -1, end: 2 })).toEqual({ start: 0, end: 2 });
    expect(normalizeLoop({ start: 2, end: 2.01 })).toBeNull();
    expect(normalizeLoop({ start: NaN, end: 2 })).toBeNull();
    expect(normalizeLoop(null)).toBeNull();
  });
  it('bypasses only at 100 % and no transposition', () => {
    expect(isBypass(100, 0, 0)).toBe(true);
    expect(isBypass(99, 0, 0)).toBe(false);
    expect(isBypass(100, 0, 1)).toBe(false);
    expect(isBypass(100, -1, 0)).toBe(false);
  });
  it('names the change', () => {
    expect(practiceSuffix(100, 0, 0)).toBe('');
    expect(practiceSuffix(80, -2, 0)).toBe('80% -2st');
    expect(practiceSuffix(100, 1, 20)).toBe('100% +1st +20c');
  });
});

describe('usePractice store', () => {
  beforeEach(() => {
    usePractice.getState().reset();
    usePractice.setState({ jobId: null });
  });

  it('starts at the defaults', () => {
    const s = usePractice.getState();
    expect([s.tempo, s.semitones, s.cents, s.loop, s.loopOn]).toEqual([100, 0, 0, null, false]);
  });

  it('clamps tempo, pitch and cents and rounds them to integers', () => {
    const s = usePractice.getState();
    s.setTempo(10);
    expect(usePractice.getState().tempo).toBe(50);
    s.setTempo(400);
    expect(usePractice.getState().tempo).toBe(150);
    s.setTempo(74.6);
    expect(usePractice.getState().tempo).toBe(75);
    s.setTempo(NaN);
    expect(usePractice.getState().tempo).toBe(100);
    s.setSemitones(-20);
    expect(usePractice.getState().semitones).toBe(-12);
    s.setSemitones(13);
    expect(usePractice.getState().semitones).toBe(12);
    s.setCents(-99);
    expect(usePractice.getState().cents).toBe(-50);
    s.setCents(51);
    expect(usePractice.getState().cents).toBe(50);
    s.setClickLevel(3);
    expect(usePractice.getState().clickLevel).toBe(1);
  });

  it('turns a loop on only when there is a region; clearing the region turns it off', () => {
    const s = usePractice.getState();
    s.setLoopOn(true);
    expect(usePractice.getState().loopOn).toBe(false);
    s.setLoop({ start: 3, end: 1 });
    expect(usePractice.getState().loop).toEqual({ start: 1, end: 3 });
    s.toggleLoop();
    expect(usePractice.getState().loopOn).toBe(true);
    s.setLoop(null);
    expect(usePractice.getState().loopOn).toBe(false);
  });

  it('clears the loop when another job opens, keeps tempo and pitch', () => {
    const s = usePractice.getState();
    s.openJob('a');
    s.setTempo(70);
    s.setLoop({ start: 1, end: 2 });
    s.setLoopOn(true);
    s.openJob('a');
    expect(usePractice.getState().loop).toEqual({ start: 1, end: 2 });
    s.openJob('b');
    expect(usePractice.getState().loop).toBeNull();
    expect(usePractice.getState().loopOn).toBe(false);
    expect(usePractice.getState().tempo).toBe(70);
  });
});
