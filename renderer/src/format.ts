/** Small formatting helpers shared by the screens. */

/** 75.3 → "1:15"; with tenths: "1:15.3". */
export function formatClock(sec: number, tenths = false): string {
  if (!Number.isFinite(sec) || sec < 0) sec = 0;
  const m = Math.floor(sec / 60);
  const s = sec - m * 60;
  if (tenths) {
    const t = Math.floor(s * 10) / 10;
    return `${m}:${t.toFixed(1).padStart(4, '0')}`;
  }
  return `${m}:${String(Math.floor(s)).padStart(2, '0')}`;
}

/** Durations for ETA / elapsed: "8 s", "2 min 05 s", "1 h 02 min". */
export function formatDuration(sec: number | null | undefined): string {
  if (sec == null || !Number.isFinite(sec) || sec < 0) return '—';
  const s = Math.round(sec);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} min`;
}

/** Last path segment, whatever the separator. */
export function baseName(p: string): string {
  const parts = p.split(/[\\/]/).filter(Boolean);
  return parts[parts.length - 1] ?? p;
}

const STEM_LABELS: Record<string, string> = {
  drums: 'Drums',
  bass: 'Bass',
  other: 'Other',
  vocals: 'Vocals',
  guitar: 'Guitar',
  piano: 'Piano',
  mix: 'Original mix',
};

export function stemLabel(stem: string): string {
  if (STEM_LABELS[stem]) return STEM_LABELS[stem];
  if (stem.startsWith('no_')) return `No ${stem.slice(3)}`;
  return stem.charAt(0).toUpperCase() + stem.slice(1);
}

const PROVIDER_LABELS: Record<string, string> = { cpu: 'CPU', cuda: 'CUDA', dml: 'DirectML', coreml: 'Core ML', webgpu: 'WebGPU', auto: 'Automatic' };
export function providerLabel(p: string | null | undefined): string {
  if (!p) return '—';
  return PROVIDER_LABELS[p] ?? p;
}
