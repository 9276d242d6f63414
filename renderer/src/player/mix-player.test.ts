import { describe, expect, it } from 'vitest';
import { effectiveGains, initialMixer } from '../state/mixer.ts';
import { FakeAudioContext, FakeGain, type FakeSource } from './fake-audio-context.test-double.ts';
import { MixPlayer, pcmUrl, type PcmSource } from './mix-player.ts';

const SR = 1000; // a small rate keeps the arithmetic readable
const TRACKS = ['drums', 'bass', 'vocals', 'mix'];

/** PCM whose value at frame f of track k is k + f / 1e6 (left) and its negative (right). */
function source(log: { track: string; start: number; frames: number }[] = []): PcmSource {
  return {
    async read(track, start, frames) {
      log.push({ track, start, frames });
      const k = TRACKS.indexOf(track);
      const l = new Float32Array(frames).map((_, i) => k + (start + i) / 1e6);
      return [l, l.map((v) => -v)];
    },
  };
}

const flush = () => new Promise((r) => setTimeout(r, 0));

function make(opts: { totalSec?: number; readySec?: number; chunkSec?: number; log?: { track: string; start: number; frames: number }[] } = {}) {
  let ctx!: FakeAudioContext;
  const states: string[] = [];
  const ended: number[] = [];
  const p = new MixPlayer({
    tracks: TRACKS,
    sampleRate: SR,
    totalFrames: (opts.totalSec ?? 20) * SR,
    readyFrames: opts.readySec === undefined ? undefined : opts.readySec * SR,
    source: source(opts.log),
    chunkFrames: (opts.chunkSec ?? 4) * SR,
    aheadSec: 1.5,
    tickMs: 0,
    createContext: (sr) => {
      ctx = new FakeAudioContext(sr);
      return ctx as unknown as AudioContext;
    },
    onState: (s) => states.push(s),
    onEnded: () => ended.push(ctx.currentTime),
  });
  /** Moves the clock forward in small steps, running the scheduler as the timer would. */
  const advance = async (sec: number, step = 0.05) => {
    const end = ctx.currentTime + sec;
    while (ctx.currentTime < end - 1e-9) {
      ctx.currentTime = Math.min(end, ctx.currentTime + step);
      await p.pump();
      await flush();
    }
  };
  return { p, ctx: () => ctx, states, ended, advance };
}

const live = (ctx: FakeAudioContext) => ctx.sources.filter((s) => s.started && !s.stopped);
const trackOf = (s: FakeSource, ctx: FakeAudioContext, p: MixPlayer) => [...p.gains].find(([, g]) => s.outputs.has(g as unknown as FakeGain))?.[0];

describe('MixPlayer graph', () => {
  it('routes every track through its own gain into one mix bus, then the master, then the output', () => {
    const { p, ctx } = make();
    const c = ctx();
    const master = p.master as unknown as FakeGain;
    const bus = p.mixBus as unknown as FakeGain;
    expect([...master.outputs]).toEqual([c.destination]);
    expect([...bus.outputs]).toEqual([master]);
    expect([...p.gains.keys()]).toEqual(TRACKS);
    for (const g of p.gains.values()) expect([...(g as unknown as FakeGain).outputs]).toEqual([bus]);
  });

  it('starts every stem on the same context time, and chunks back to back with no gap', async () => {
    const { p, ctx, advance } = make({ chunkSec: 1 });
    await p.play();
    await flush();
    await p.pump();
    const c = ctx();
    const t0 = Math.min(...live(c).map((s) => s.started!.when));
    const first = live(c).filter((s) => s.started!.when === t0);
    for (const s of first) expect(s.started!.offset).toBe(0);
    expect(first).toHaveLength(TRACKS.length);
    expect(new Set(first.map((s) => s.started!.when)).size).toBe(1);
    expect(new Set(first.map((s) => trackOf(s, c, p)))).toEqual(new Set(TRACKS));
    await advance(3);
    // Group starts by time: each group is one chunk of all tracks; each starts where the last ended.
    const byWhen = new Map<number, FakeSource[]>();
    for (const s of c.sources) byWhen.set(s.started!.when, [...(byWhen.get(s.started!.when) ?? []), s]);
    const whens = [...byWhen.keys()].sort((a, b) => a - b);
    expect(whens.length).toBeGreaterThanOrEqual(4);
    for (const w of whens) expect(byWhen.get(w)!.map((s) => trackOf(s, c, p)).sort()).toEqual([...TRACKS].sort());
    for (let i = 1; i < whens.length; i++) {
      const prev = byWhen.get(whens[i - 1])![0].started!;
      expect(whens[i]).toBeCloseTo(whens[i - 1] + prev.duration, 9);
    }
    // Each source plays its own track's samples at the right song position.
    const s = byWhen.get(whens[2])![0];
    const k = TRACKS.indexOf(trackOf(s, c, p)!);
    const buf = s.buffer!;
    expect(buf.data[0][0]).toBeCloseTo(k + 2000 / 1e6, 9);
    expect(buf.data[1][0]).toBeCloseTo(-(k + 2000 / 1e6), 9);
  });

  it('the clock follows the context: position = time since the first piece started', async () => {
    const { p, ctx, advance } = make();
    await p.play();
    const start = ctx().sources[0].started!.when;
    await advance(2.5);
    expect(p.currentTime).toBeCloseTo(ctx().currentTime - start, 6);
    p.pause();
    const at = p.currentTime;
    expect(live(ctx())).toHaveLength(0);
    await advance(1);
    expect(p.currentTime).toBe(at);
  });

  it('mute and solo become gains on the stem gain nodes, ramped (no clicks)', () => {
    const { p } = make();
    let mixer = initialMixer('j', ['drums', 'bass', 'vocals']);
    p.setGains(effectiveGains(mixer));
    expect(p.gainTargets).toEqual({ drums: 1, bass: 1, vocals: 1, mix: 0 });
    mixer = { ...mixer, tracks: { ...mixer.tracks, vocals: { ...mixer.tracks.vocals, muted: true } } };
    p.setGains(effectiveGains(mixer));
    expect(p.gainTargets).toEqual({ drums: 1, bass: 1, vocals: 0, mix: 0 });
    const vocals = p.gains.get('vocals') as unknown as FakeGain;
    expect(vocals.gain.events.map((e) => e.type)).toEqual(['cancel', 'set', 'ramp']);
    expect(vocals.gain.value).toBe(0);
    mixer = { ...mixer, tracks: { ...mixer.tracks, bass: { ...mixer.tracks.bass, solo: true, volume: 0.5 } } };
    p.setGains(effectiveGains(mixer));
    expect(p.gainTargets).toEqual({ drums: 0, bass: 0.5, vocals: 0, mix: 0 });
    for (const [t, g] of p.gains) expect((g as unknown as FakeGain).gain.value).toBe(p.gainTargets[t]);
  });

  it('seek stops what was scheduled and restarts every stem at the new position together', async () => {
    const { p, ctx, advance } = make();
    await p.play();
    await advance(1);
    const before = live(ctx());
    p.seek(10.25);
    await flush();
    await p.pump();
    for (const s of before) expect(s.stopped).toBe(true);
    const now = live(ctx());
    expect(now.length).toBeGreaterThanOrEqual(TRACKS.length);
    const first = now.filter((s) => s.started!.when === Math.min(...now.map((x) => x.started!.when)));
    expect(first).toHaveLength(TRACKS.length);
    // 10.25 s is 2.25 s into chunk 2 (4 s chunks).
    for (const s of first) expect(s.started!.offset).toBeCloseTo(2.25, 9);
    await advance(1);
    expect(p.currentTime).toBeGreaterThan(11);
    expect(p.currentTime).toBeLessThan(11.3);
  });

  it('an insert sits between the stem mix and the master', () => {
    const { p, ctx } = make();
    const c = ctx();
    const a = c.createGain();
    const b = c.createGain();
    a.connect(b);
    p.setInsert({ input: a as unknown as AudioNode, output: b as unknown as AudioNode });
    expect([...(p.mixBus as unknown as FakeGain).outputs]).toEqual([a]);
    expect([...b.outputs]).toEqual([p.master]);
    p.setInsert(null);
    expect([...(p.mixBus as unknown as FakeGain).outputs]).toEqual([p.master]);
    expect(b.outputs.size).toBe(0);
  });
});

describe('MixPlayer progressive playback', () => {
  it('plays up to the ready edge, waits there (buffering), and goes on when more is ready', async () => {
    const log: { track: string; start: number; frames: number }[] = [];
    const { p, ctx, advance, states } = make({ readySec: 2.5, log });
    await p.play();
    await advance(4);
    // Nothing past ready was ever asked for.
    for (const r of log) expect(r.start + r.frames).toBeLessThanOrEqual(2500);
    expect(p.state).toBe('buffering');
    expect(p.currentTime).toBeCloseTo(2.5, 6);
    expect(states).toContain('buffering');
    const waitedAt = ctx().currentTime;
    p.setReady(8000);
    await flush();
    await advance(1);
    expect(p.state).toBe('playing');
    // It resumed from the edge: the audio after 2.5 s starts after the wait, at offset 2.5 s of chunk 0.
    const resumed = ctx().sources.filter((s) => s.started!.when >= waitedAt);
    expect(resumed.length).toBeGreaterThanOrEqual(TRACKS.length);
    const t1 = Math.min(...resumed.map((s) => s.started!.when));
    const firstResumed = resumed.filter((s) => s.started!.when === t1);
    expect(firstResumed).toHaveLength(TRACKS.length);
    for (const s of firstResumed) expect(s.started!.offset).toBeCloseTo(2.5, 9);
    expect(p.currentTime).toBeGreaterThan(2.5);
    expect(p.currentTime).toBeLessThan(3.6);
  });

  it('seeking past the ready edge waits there; seeking back plays at once', async () => {
    const { p, advance } = make({ readySec: 6 });
    await p.play();
    await advance(0.5);
    p.seek(9);
    await advance(0.5);
    expect(p.state).toBe('buffering');
    expect(p.currentTime).toBe(9);
    p.seek(1);
    await advance(0.5);
    expect(p.state).toBe('playing');
    expect(p.currentTime).toBeGreaterThan(1.2);
  });

  it('loops a region sample-accurately: the wrap is scheduled right after the loop end', async () => {
    const { p, ctx, advance } = make({ chunkSec: 4 });
    p.setLoop({ start: 1, end: 2.5 });
    p.seek(1);
    await p.play();
    await advance(4);
    const c = ctx();
    const drums = c.sources.filter((s) => trackOf(s, c, p) === 'drums').map((s) => s.started!);
    // Pieces: [1, 2.5) then again [1, 2.5) …, each starting where the previous ended.
    expect(drums.length).toBeGreaterThanOrEqual(3);
    for (const s of drums) {
      expect(s.offset).toBeCloseTo(1, 9);
      expect(s.duration).toBeCloseTo(1.5, 9);
    }
    for (let i = 1; i < drums.length; i++) expect(drums[i].when).toBeCloseTo(drums[i - 1].when + 1.5, 9);
    expect(p.currentTime).toBeGreaterThanOrEqual(1);
    expect(p.currentTime).toBeLessThan(2.5);
    expect(() => p.setLoop({ start: 3, end: 2 })).toThrow(/must be after its start/);
  });

  it('a 20-minute song streams with a bounded number of chunks alive', async () => {
    const log: { track: string; start: number; frames: number }[] = [];
    const { p, ctx, advance } = make({ totalSec: 1200, log });
    await p.play();
    await advance(60, 0.25);
    p.seek(1100);
    await advance(30, 0.25);
    const c = ctx();
    // Chunks cached by the player (each holds one AudioBuffer per track).
    expect((p as unknown as { chunks: Map<number, unknown> }).chunks.size).toBeLessThanOrEqual(6);
    // The player keeps references only to the pieces still playing or scheduled (≈ aheadSec).
    const pieces = (p as unknown as { pieces: { ctxStart: number }[] }).pieces;
    expect(pieces.length).toBeLessThanOrEqual(3);
    expect(pieces[0].ctxStart).toBeLessThanOrEqual(c.currentTime);
    // It read what it played (60 s + 30 s) plus up to 4 chunks ahead at each place, not the whole song.
    const framesRead = log.filter((r) => r.track === 'drums').reduce((a, r) => a + r.frames, 0);
    expect(framesRead / SR).toBeLessThanOrEqual(90 + 2 * 4 * 4);
  });

  it('stops and rewinds at the end of the song', async () => {
    const { p, advance, ended } = make({ totalSec: 3 });
    await p.play();
    await advance(3.5);
    expect(ended).toHaveLength(1);
    expect(p.isPlaying).toBe(false);
    expect(p.currentTime).toBe(0);
  });

  it('varispeed: sources play at the rate and the clock stays in song time', async () => {
    const { p, ctx, advance } = make();
    await p.play();
    p.setRate(2);
    await advance(1);
    for (const s of live(ctx())) expect(s.playbackRate.value).toBe(2);
    expect(p.currentTime).toBeGreaterThan(1.7);
    expect(p.currentTime).toBeLessThan(2.1);
    expect(() => p.setRate(0)).toThrow(/out of range/);
  });

  it('pcmUrl adds the raw-PCM query to both URL forms', () => {
    expect(pcmUrl('demix-media://job/a/drums')).toBe('demix-media://job/a/drums?pcm=f32');
    expect(pcmUrl('http://127.0.0.1:1/media/a/drums?token=t')).toBe('http://127.0.0.1:1/media/a/drums?token=t&pcm=f32');
  });
});
