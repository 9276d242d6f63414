/** Mixer state of the stem player (per track mute / solo / volume) and the gain it implies. */

export interface TrackMix {
  muted: boolean;
  solo: boolean;
  /** 0..1 */
  volume: number;
}

export interface MixerState {
  jobId: string | null;
  /** Track order as shown: the job's stems, then `mix` (the original, as a reference). */
  order: string[];
  tracks: Record<string, TrackMix>;
}

export const EMPTY_MIXER: MixerState = { jobId: null, order: [], tracks: {} };

/** Fresh mixer for a job: every stem audible, the original mix muted (it is the reference you A/B with). */
export function initialMixer(jobId: string, stems: string[]): MixerState {
  const order = [...stems, 'mix'];
  const tracks: Record<string, TrackMix> = {};
  for (const s of order) tracks[s] = { muted: s === 'mix', solo: false, volume: 1 };
  return { jobId, order, tracks };
}

/** Gain (0..1) each track plays at: solo wins over mute; with no solo, mute silences. */
export function effectiveGains(m: MixerState): Record<string, number> {
  const anySolo = Object.values(m.tracks).some((t) => t.solo);
  const out: Record<string, number> = {};
  for (const [stem, t] of Object.entries(m.tracks)) {
    const audible = anySolo ? t.solo : !t.muted;
    out[stem] = audible ? clamp01(t.volume) : 0;
  }
  return out;
}

export function clamp01(v: number): number {
  return Number.isFinite(v) ? Math.min(1, Math.max(0, v)) : 0;
}

/** Stem selections offered as one-click presets for a mixdown, filtered to what the job has. */
export function mixdownPresets(stems: string[]): { id: string; label: string; stems: string[] }[] {
  const has = (s: string) => stems.includes(s);
  const presets: { id: string; label: string; stems: string[] }[] = [];
  if (has('vocals')) presets.push({ id: 'no-vocals', label: 'Everything but vocals', stems: stems.filter((s) => s !== 'vocals') });
  if (has('drums')) presets.push({ id: 'no-drums', label: 'Everything but drums', stems: stems.filter((s) => s !== 'drums') });
  if (has('drums') && has('bass')) presets.push({ id: 'rhythm', label: 'Drums + bass', stems: ['drums', 'bass'] });
  if (has('bass')) presets.push({ id: 'no-bass', label: 'Everything but bass', stems: stems.filter((s) => s !== 'bass') });
  presets.push({ id: 'all', label: 'All stems', stems: [...stems] });
  return presets.filter((p) => p.stems.length > 0);
}
