// @vitest-environment happy-dom
import { describe, expect, it, vi } from 'vitest';
import { StemPlayer } from './stem-player.ts';

function make() {
  const host = document.createElement('div');
  const onPlayState = vi.fn();
  const p = new StemPlayer(
    ['drums', 'bass', 'mix'].map((stem) => ({ stem, url: `http://x/media/j/${stem}` })),
    12,
    { onPlayState },
    host,
  );
  for (const el of p.elements.values()) {
    vi.spyOn(el, 'play').mockResolvedValue(undefined);
    vi.spyOn(el, 'pause').mockImplementation(() => {});
  }
  return { p, host, onPlayState };
}

describe('StemPlayer', () => {
  it('creates one audio element per track, in the host, streaming from its URL', () => {
    const { p, host } = make();
    expect(host.querySelectorAll('audio')).toHaveLength(3);
    expect(p.elements.get('bass')!.src).toBe('http://x/media/j/bass');
    expect(p.duration).toBe(12);
  });

  it('plays, pauses and seeks every track together', async () => {
    const { p, onPlayState } = make();
    p.seek(3.5);
    for (const el of p.elements.values()) expect(el.currentTime).toBe(3.5);
    await p.play();
    expect(p.isPlaying).toBe(true);
    for (const el of p.elements.values()) expect(el.play).toHaveBeenCalledTimes(1);
    p.pause();
    for (const el of p.elements.values()) expect(el.pause).toHaveBeenCalled();
    expect(onPlayState.mock.calls).toEqual([[true], [false]]);
  });

  it('applies gains as element volumes, clamped to 0..1', () => {
    const { p } = make();
    p.setGains({ drums: 0.5, bass: 3, mix: 0 });
    expect(p.elements.get('drums')!.volume).toBe(0.5);
    expect(p.elements.get('bass')!.volume).toBe(1);
    expect(p.elements.get('mix')!.volume).toBe(0);
  });

  it('reports stopped when playback fails to start', async () => {
    const { p, onPlayState } = make();
    vi.spyOn(p.elements.get('bass')!, 'play').mockRejectedValue(new Error('NotAllowedError'));
    await expect(p.play()).rejects.toThrow('NotAllowedError');
    expect(p.isPlaying).toBe(false);
    expect(onPlayState.mock.calls).toEqual([[true], [false]]);
  });

  it('removes its elements on destroy', () => {
    const { p, host } = make();
    p.destroy();
    expect(host.querySelectorAll('audio')).toHaveLength(0);
  });
});
