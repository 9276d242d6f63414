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
  /** Loop region (seconds) drawn over the waveform; `loopOn` draws it as active. */
  loop?: { start: number; end: number } | null;
  loopOn?: boolean;
  /**
   * A drag across the waveform (seconds, in drag order; `done` on release; `altKey` held = no
   * snapping). A click without a drag still seeks.
   */
  onLoopDrag?(from: number, to: number, e: { altKey: boolean; done: boolean }): void;
}

/** Pixels a press must move before it is a loop drag rather than a click. */
const DRAG_PX = 5;

/**
 * One stem's waveform, drawn from peaks computed by main (the audio is never decoded here).
 * wavesurfer plays nothing: its cursor is set from the Web Audio player's clock (`time`), and a
 * click asks the player to seek every stem.
 */
export function Waveform({ time, peaks, duration, color, progressColor, height, zoom, label, dimmed, maxPeak, onSeek, onScroll, scrollLeft, pending = 0, loop = null, loopOn = false, onLoopDrag }: Props) {
  const box = useRef<HTMLDivElement>(null);
  const ws = useRef<WaveSurfer | null>(null);
  const loopEl = useRef<HTMLDivElement | null>(null);
  const seekRef = useRef(onSeek);
  const scrollRef = useRef(onScroll);
  const loopDragRef = useRef(onLoopDrag);
  const loopRef = useRef({ loop, loopOn, duration });
  seekRef.current = onSeek;
  scrollRef.current = onScroll;
  loopDragRef.current = onLoopDrag;
  loopRef.current = { loop, loopOn, duration };

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
      // A drag marks a loop region (below); a click seeks.
      dragToSeek: false,
      hideScrollbar: true,
      autoScroll: true,
      autoCenter: false,
      minPxPerSec: 0,
    });
    w.on('interaction', (t) => seekRef.current(t));
    w.on('scroll', (_s, _e, left) => scrollRef.current?.(left));
    ws.current = w;

    // The loop region lives inside wavesurfer's scrolling wrapper, so it follows zoom and scroll.
    const wrapper = w.getWrapper();
    const region = document.createElement('div');
    region.setAttribute('part', 'loop');
    region.dataset.loop = '';
    Object.assign(region.style, { position: 'absolute', top: '0', bottom: '0', pointerEvents: 'none', zIndex: '4', display: 'none', boxSizing: 'border-box' });
    wrapper.appendChild(region);
    loopEl.current = region;
    drawLoop(region, loopRef.current);

    const timeAt = (clientX: number) => {
      const r = wrapper.getBoundingClientRect();
      return r.width > 0 ? Math.min(1, Math.max(0, (clientX - r.left) / r.width)) * duration : 0;
    };
    let drag: { x0: number; t0: number; moved: boolean } | null = null;
    let swallowClick = false;
    const down = (e: PointerEvent) => {
      if (e.button !== 0 || !loopDragRef.current) return;
      drag = { x0: e.clientX, t0: timeAt(e.clientX), moved: false };
    };
    const move = (e: PointerEvent) => {
      if (!drag) return;
      if (!drag.moved && Math.abs(e.clientX - drag.x0) < DRAG_PX) return;
      drag.moved = true;
      loopDragRef.current?.(drag.t0, timeAt(e.clientX), { altKey: e.altKey, done: false });
    };
    const up = (e: PointerEvent) => {
      if (drag?.moved) {
        loopDragRef.current?.(drag.t0, timeAt(e.clientX), { altKey: e.altKey, done: true });
        swallowClick = true; // the click that ends a drag is not a seek
        setTimeout(() => (swallowClick = false), 0);
      }
      drag = null;
    };
    const click = (e: MouseEvent) => {
      if (swallowClick) {
        swallowClick = false;
        e.stopPropagation();
      }
    };
    const host = box.current;
    wrapper.addEventListener('pointerdown', down);
    window.addEventListener('pointermove', move);
    window.addEventListener('pointerup', up);
    host.addEventListener('click', click, true); // capture: before wavesurfer's own click handler
    return () => {
      wrapper.removeEventListener('pointerdown', down);
      window.removeEventListener('pointermove', move);
      window.removeEventListener('pointerup', up);
      host.removeEventListener('click', click, true);
      loopEl.current = null;
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
    if (loopEl.current) drawLoop(loopEl.current, { loop, loopOn, duration });
  }, [loop, loopOn, duration]);

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
      <div
        className={`wave ${dimmed ? 'wave-dimmed' : ''}`}
        ref={box}
        role="img"
        aria-label={`${label} waveform`}
        data-peaks={peaks.length}
        data-loop={loop ? `${loop.start.toFixed(3)}-${loop.end.toFixed(3)}` : undefined}
      />
      {pending > 0 && zoom === 0 && <div className="wave-pending" style={{ width: `${Math.min(100, pending * 100)}%` }} aria-hidden="true" />}
    </div>
  );
}

/** Places the loop overlay (percent of the song, so it scales with zoom); inline styles: it sits in wavesurfer's shadow root. */
function drawLoop(el: HTMLDivElement, { loop, loopOn, duration }: { loop: { start: number; end: number } | null; loopOn: boolean; duration: number }) {
  if (!loop || !(duration > 0)) {
    el.style.display = 'none';
    return;
  }
  const a = Math.max(0, Math.min(1, loop.start / duration));
  const b = Math.max(a, Math.min(1, loop.end / duration));
  Object.assign(el.style, {
    display: 'block',
    left: `${a * 100}%`,
    width: `${(b - a) * 100}%`,
    background: loopOn ? 'var(--loop-fill, rgba(255, 200, 60, 0.22))' : 'var(--loop-fill-off, rgba(160, 160, 160, 0.16))',
    borderLeft: `2px solid ${loopOn ? 'var(--loop-edge, #f5b82e)' : 'var(--loop-edge-off, #9a9a9a)'}`,
    borderRight: `2px solid ${loopOn ? 'var(--loop-edge, #f5b82e)' : 'var(--loop-edge-off, #9a9a9a)'}`,
  });
}
