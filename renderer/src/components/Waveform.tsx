import { useEffect, useRef } from 'react';
import WaveSurfer from 'wavesurfer.js';

interface Props {
  /** Song position (seconds) from the player's one clock; the cursor follows it. */
  time: number;
  peaks: number[];
  duration: number;
  color: string;
  progressColor: string;
  height: number;
  zoom: number;
  label: string;
  dimmed: boolean;
  /** Peak that fills the height; shared by all stems so their levels compare. */
  maxPeak: number;
  onSeek(sec: number): void;
  onScroll?(scrollLeft: number): void;
  scrollLeft?: number;
  /** Fraction (0..1) of the song not separated yet, drawn as pending at the right end. */
  pending?: number;
}

/**
 * One stem's waveform, drawn from peaks computed by main (the audio is never decoded here).
 * wavesurfer plays nothing: its cursor is set from the Web Audio player's clock (`time`), and a
 * click asks the player to seek every stem.
 */
export function Waveform({ time, peaks, duration, color, progressColor, height, zoom, label, dimmed, maxPeak, onSeek, onScroll, scrollLeft, pending = 0 }: Props) {
  const box = useRef<HTMLDivElement>(null);
  const ws = useRef<WaveSurfer | null>(null);
  const seekRef = useRef(onSeek);
  const scrollRef = useRef(onScroll);
  seekRef.current = onSeek;
  scrollRef.current = onScroll;

  useEffect(() => {
    if (!box.current) return;
    const w = WaveSurfer.create({
      container: box.current,
      peaks: [Float32Array.from(peaks)],
      duration,
      height,
      waveColor: color,
      progressColor,
      cursorColor: 'var(--cursor)',
      cursorWidth: 2,
      barWidth: 2,
      barGap: 1,
      barRadius: 2,
      normalize: true,
      maxPeak: maxPeak > 0 ? maxPeak : 1,
      interact: true,
      dragToSeek: true,
      hideScrollbar: true,
      autoScroll: true,
      autoCenter: false,
      minPxPerSec: 0,
    });
    w.on('interaction', (t) => seekRef.current(t));
    w.on('scroll', (_s, _e, left) => scrollRef.current?.(left));
    ws.current = w;
    return () => {
      ws.current = null;
      w.destroy();
    };
    // Peaks/duration/media identify the track; colours are updated below without a rebuild.
  }, [peaks, duration, height, maxPeak]);

  useEffect(() => {
    const w = ws.current;
    if (w && Math.abs(w.getCurrentTime() - time) > 1e-3) w.setTime(time);
  }, [time, peaks]);

  useEffect(() => {
    ws.current?.setOptions({ waveColor: color, progressColor });
  }, [color, progressColor]);

  useEffect(() => {
    try {
      ws.current?.zoom(zoom);
    } catch {
      /* zoom before the first render: applied on the next change */
    }
  }, [zoom]);

  useEffect(() => {
    const w = ws.current;
    if (w && scrollLeft != null && Math.abs(w.getScroll() - scrollLeft) > 1) w.setScroll(scrollLeft);
  }, [scrollLeft]);

  return (
    <div className="wave-box">
      <div className={`wave ${dimmed ? 'wave-dimmed' : ''}`} ref={box} role="img" aria-label={`${label} waveform`} data-peaks={peaks.length} />
      {pending > 0 && zoom === 0 && <div className="wave-pending" style={{ width: `${Math.min(100, pending * 100)}%` }} aria-hidden="true" />}
    </div>
  );
}
