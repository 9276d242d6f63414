/**
 * `jobs:stream-info`: what the stem player needs to stream a job's stems, finished or still
 * separating (stem names come from the model's manifest while the job runs).
 */
import type { Job, ResponseOf } from '../preload/contract.ts';
import { getModel } from '../models/registry.ts';
import { probeAudio } from '../engine/decode.ts';
import { PCM_RATE } from './media-pcm.ts';

const durations = new Map<string, number | null>();

/** Stems a job writes, in the model's order (two-stem mode: the stem and its complement). */
export function plannedStems(job: Job, modelsDir?: string): string[] {
  if (job.stems.length) return job.stems.map((s) => s.name);
  if (job.options.twoStems) return [job.options.twoStems, `no_${job.options.twoStems}`];
  try {
    return getModel(job.options.modelId, { modelsDir }).stems;
  } catch {
    return [];
  }
}

export async function streamInfo(job: Job, opts: { modelsDir?: string } = {}): Promise<ResponseOf<'jobs:stream-info'>> {
  let durationSec: number | null = job.durationSec ?? job.stems[0]?.durationSec ?? null;
  if (durationSec == null) {
    const key = job.id;
    if (!durations.has(key)) {
      let d: number | null;
      try {
        d = (await probeAudio(job.inputPath)).durationSec;
      } catch {
        d = null;
      }
      if (job.excerpt) d = job.excerpt.endSec - job.excerpt.startSec;
      if (durations.size > 500) durations.clear();
      durations.set(key, d);
    }
    durationSec = durations.get(key) ?? null;
  }
  return {
    stems: plannedStems(job, opts.modelsDir),
    sampleRate: PCM_RATE,
    durationSec,
    readySamples: job.status === 'done' ? null : (job.readySamples ?? 0),
  };
}
