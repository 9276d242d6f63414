import { describe, expect, it } from 'vitest';
import type { StretchNode, StretchSchedule } from 'signalsmith-stretch';
import { FakeAudioContext, FakeGain, FakeNode, type FakeSource } from './fake-audio-context.test-double.ts';
import { MixPlayer, type PcmSource } from './mix-player.ts';
import { PracticeAudio } from './practice-audio.ts';
import { pitchShiftSemitones } from './practice-store.ts';

const SR = 1000;
const TRACKS = ['drums', 'bass', 'mix'];

const source: PcmSource = {
  async read(_track, start, frames) {
    const l = new Float32Array(frames).map((_, i) => (start + i) / 1e6);
    return [l, l];
  },
};
const flush = () => new Promise((r) => setTimeout(r, 0));

/** Test double for the Signalsmith Stretch AudioWorkletNode (no AudioWorklet in Node): records schedule() calls. */
class FakeStretch extends FakeNode {
  scheduled: StretchSchedule[] = [];
  async schedule(c: StretchSchedule) {
    this.scheduled.push(c);
  }
  async latency() {
    return 0.1;
  }
}

function make(opts: { failStretch?: boolean } = {}) {
  let ctx!: FakeAudioContext;
  const p = new MixPlayer({
    tracks: TRACKS,
    sampleRate: SR,
    totalFrames: 20 * SR,
    source,
    chunkFrames: 4 * SR,
    aheadSec: 1.5,
    tickMs: 0,
    createContext: (sr) => {
      ctx = new FakeAudioContext(sr);
      return ctx as unknown as AudioContext;
    },
  });
  const stretches: FakeStretch[] = [];
  const audio = new PracticeAudio(p, {
    tickMs: 0,
    createStretch: async (c) => {
      if (opts.failStretch) throw new Error('AudioWorklet refused the module');
      const s = new FakeStretch(c as unknown as FakeAudioContext, 'stretch');
      stretches.push(s);
      return s as unknown as StretchNode;
    },
  });
  const advance = async (sec: number, step = 0.05) => {
    const end = ctx.currentTime + sec;
    while (ctx.currentTime < end - 1e-9) {
      ctx.currentTime = Math.min(end, ctx.currentTime + step);
      await p.pump();
      audio.tick();
      await flush();
    }
  };
  return { p, audio, ctx: () => ctx, stretches, advance };
}

const stemSources = (c: FakeAudioContext, p: MixPlayer, track: string) =>
  c.sources.filter((s) => s.outputs.has(p.gains.get(track) as unknown as FakeGain));
const clickSources = (c: FakeAudioContext, audio: PracticeAudio) => c.sources.filter((s) => s.outputs.has(audio.clickGain as unknown as FakeGain));

describe('PracticeAudio: tempo and pitch', () => {
  it('bypasses at 100 % and pitch 0; otherwise varispeed + a stretch insert that undoes the varispeed pitch', async () => {
    const { p, audio, stretches } = make();
    const bus = p.mixBus as unknown as FakeGain;
    const master = p.master as unknown as FakeGain;
    await audio.setTempoPitch(100, 0, 0);
    expect(stretches).toHaveLength(0); // never even loaded
    expect([...bus.outputs]).toEqual([master]);
    expect(p.playbackRate).toBe(1);

    await audio.setTempoPitch(75, -2, 0);
    const s = stretches[0];
    expect(p.playbackRate).toBe(0.75);
    expect([...bus.outputs]).toEqual([s]);
    expect([...s.outputs]).toEqual([master]);
    expect(s.scheduled.at(-1)!.active).toBe(true);
    expect(s.scheduled.at(-1)!.semitones).toBeCloseTo(pitchShiftSemitones(75, -2, 0), 12);
    expect(audio.latencySec).toBe(0.1);

    // Pitch only: rate 1, still through the stretch.
    await audio.setTempoPitch(100, 3, 25);
    expect(p.playbackRate).toBe(1);
    expect(s.scheduled.at(-1)!.semitones).toBeCloseTo(3.25, 12);
    expect(stretches).toHaveLength(1); // one node, reused

    await audio.setTempoPitch(100, 0, 0);
    expect([...bus.outputs]).toEqual([master]);
    expect(p.playbackRate).toBe(1);
    expect(audio.insertActive).toBe(false);
  });

  it('says why when the time-stretch does not load, and leaves the tempo alone (no pitch drift)', async () => {
    const { p, audio } = make({ failStretch: true });
    await expect(audio.setTempoPitch(70, 0, 0)).rejects.toThrow(/time-stretch, which did not load: AudioWorklet refused the module/);
    expect(p.playbackRate).toBe(1);
    expect(audio.insertActive).toBe(false);
  });

  it('at 75 % the loop still wraps sample-exactly: each pass starts where the previous one ends', async () => {
    const { p, audio, ctx, advance } = make();
    await audio.setTempoPitch(75, -2, 0);
    p.setLoop({ start: 1.25, end: 2.5 });
    p.seek(1.25);
    await p.play();
    await advance(5);
    const drums = stemSources(ctx(), p, 'drums').map((s) => s.started!);
    expect(drums.length).toBeGreaterThanOrEqual(3);
    for (const s of drums) {
      expect(s.offset * SR).toBe(1250); // every pass starts on the loop start frame
      expect(s.duration * SR).toBeCloseTo(1250, 9); // and plays exactly to the loop end
    }
    // 1.25 s of song at 0.75 lasts 1.6667 s on the context clock; the next pass starts right there.
    for (let i = 1; i < drums.length; i++) expect(drums[i].when).toBeCloseTo(drums[i - 1].when + 1.25 / 0.75, 9);
    expect(p.currentTime).toBeGreaterThanOrEqual(1.25);
    expect(p.currentTime).toBeLessThan(2.5);
  });
});

describe('PracticeAudio: click track and count-in', () => {
  const beats = Array.from({ length: 40 }, (_, i) => 0.25 + i * 0.5); // 120 BPM grid starting at 0.25 s

  it('clicks exactly on the beats inside the loop, pass after pass, never on the beat after the loop end', async () => {
    const { p, audio, ctx, advance } = make();
    audio.setClick(true, 0.5, beats, 0.25);
    p.setLoop({ start: 1, end: 2.5 }); // beats 1.25, 1.75, 2.25 inside; 2.75 outside
    p.seek(1);
    await p.play();
    await advance(4.6);
    const c = ctx();
    const pieces = stemSources(c, p, 'drums').map((s) => s.started!.when);
    const clicks = clickSources(c, audio).map((s) => s.started!.when);
    const expected = pieces.flatMap((w) => [0.25, 0.75, 1.25].map((d) => w + d));
    expect(clicks.length).toBeGreaterThanOrEqual(9);
    for (const t of clicks) expect(expected.some((e) => Math.abs(e - t) < 1e-9)).toBe(true);
    // Every beat of every scheduled pass has its click (three per pass).
    expect(clicks).toHaveLength(3 * pieces.length);
    // Each click was scheduled once.
    expect(new Set(clicks.map((t) => t.toFixed(9))).size).toBe(clicks.length);
    // Accent on bar starts: beat 0.25 is the downbeat, so 2.25 (index 4) is accented, 1.25 and 1.75 not.
    const sounds = clickSources(c, audio).map((s) => s.buffer);
    expect(new Set(sounds).size).toBe(2);
    expect(sounds[2]).not.toBe(sounds[0]);
    expect(sounds[1]).toBe(sounds[0]);
  });

  it('pausing drops the clicks still to come; turning the click off too', async () => {
    const { p, audio, ctx, advance } = make();
    audio.setClick(true, 0.5, beats);
    await p.play();
    await advance(0.5);
    expect(audio.pendingClicks.some((t) => t > ctx().currentTime)).toBe(true);
    p.pause();
    audio.tick();
    expect(audio.pendingClicks.filter((t) => t > ctx().currentTime)).toEqual([]);
    const future = clickSources(ctx(), audio).filter((s) => s.started!.when > ctx().currentTime);
    for (const s of future) expect(s.stopped).toBe(true);

    await p.play();
    await advance(0.3);
    expect(audio.pendingClicks.length).toBeGreaterThan(0);
    audio.setClick(false, 0.5, beats);
    expect(audio.pendingClicks.filter((t) => t > ctx().currentTime)).toEqual([]);
  });

  it('is delayed by the stretch latency while the insert is on, like the music', async () => {
    const { p, audio, ctx, advance } = make();
    await audio.setTempoPitch(80, 0, 0);
    audio.setClick(true, 0.5, beats);
    await p.play();
    await advance(0.3);
    const c = ctx();
    const first = stemSources(c, p, 'drums')[0].started!;
    const click = Math.min(...clickSources(c, audio).map((s) => s.started!.when));
    expect(click).toBeCloseTo(first.when + 0.25 / 0.8 + 0.1, 9);
  });

  it('counts in one bar, then starts on the next beat', async () => {
    const { p, audio, ctx } = make();
    ctx().currentTime = 3;
    await audio.playWithCountIn(120);
    const c = ctx();
    const counts = clickSources(c, audio).map((s: FakeSource) => s.started!.when);
    expect(counts).toHaveLength(4);
    for (let i = 0; i < 4; i++) expect(counts[i]).toBeCloseTo(3.1 + i * 0.5, 9);
    // Nothing of the song before the bar is over; the clock waits at the start meanwhile.
    expect(stemSources(c, p, 'drums')).toHaveLength(0);
    expect(p.currentTime).toBe(0);
    for (let t = 3.1; t <= 5.2; t += 0.05) {
      c.currentTime = t;
      await p.pump();
      await flush();
    }
    const first = Math.min(...stemSources(c, p, 'drums').map((s) => s.started!.when));
    expect(first).toBeCloseTo(3.1 + 2, 9);
  });
});
