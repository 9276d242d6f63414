/** Small text helpers for the CLI's output. */

/** Tempo and key of a job for the `demix jobs` column: "92 BPM  F# major", "" before analysis. */
export function fmtMusic(j: { bpm?: number | null; key?: string | null }): string {
  if (j.bpm == null && j.key == null) return '';
  const bpm = j.bpm != null ? `${Math.round(j.bpm)} BPM` : '-';
  return `${bpm.padEnd(7)} ${j.key ?? '-'}`;
}
export function fmtDuration(sec: number | null | undefined): string {
  if (sec === null || sec === undefined || !Number.isFinite(sec)) return '--:--';
  const s = Math.max(0, Math.round(sec));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  return h ? `${h}:${String(m).padStart(2, '0')}:${String(r).padStart(2, '0')}` : `${m}:${String(r).padStart(2, '0')}`;
}

export function fmtSeconds(ms: number): string {
  const s = ms / 1000;
  return s < 60 ? `${s.toFixed(1)} s` : fmtDuration(s);
}

export function bar(fraction: number, width = 24): string {
  const f = Math.min(1, Math.max(0, fraction));
  const full = Math.round(f * width);
  return `[${'#'.repeat(full)}${'.'.repeat(width - full)}]`;
}

export function truncate(s: string, n: number): string {
  return s.length <= n ? s : `${s.slice(0, Math.max(1, n - 1))}…`;
}
