/** What `demix doctor` and the Diagnostics screen show about the engine. */
import { checksumState, listModels, locateWeights, type LocateOptions } from '../models/registry.ts';
import { ffmpegVersion, resolveFfmpeg } from './ffmpeg.ts';
import { availableProviders } from './session.ts';

export interface EngineDiagnostics {
  ffmpeg: { path: string | null; source: string | null; version: string | null; error: string | null };
  models: {
    id: string;
    name: string;
    stems: string[];
    sampleRate: number;
    weightsPath: string | null;
    checksum: 'ok' | 'mismatch' | 'missing' | 'unverified';
    license: string;
    error: string | null;
  }[];
  providers: { available: string[] };
}

export async function engineDiagnostics(opts: LocateOptions & { verify?: boolean } = {}): Promise<EngineDiagnostics> {
  let ffmpeg: EngineDiagnostics['ffmpeg'];
  try {
    const loc = resolveFfmpeg({ refresh: true });
    ffmpeg = { path: loc.path, source: loc.source, version: null, error: null };
    try {
      ffmpeg.version = ffmpegVersion(loc);
    } catch (e) {
      ffmpeg.error = (e as Error).message;
    }
  } catch (e) {
    ffmpeg = { path: null, source: null, version: null, error: (e as Error).message };
  }
  const models: EngineDiagnostics['models'] = [];
  for (const m of listModels(opts)) {
    let weightsPath: string | null = null;
    let checksum: EngineDiagnostics['models'][number]['checksum'] = 'missing';
    let error: string | null = null;
    try {
      weightsPath = locateWeights(m, opts);
      checksum = opts.verify === false ? 'unverified' : (await checksumState(m, weightsPath, opts)).state;
    } catch (e) {
      error = (e as Error).message;
    }
    models.push({ id: m.id, name: m.name, stems: m.stems, sampleRate: m.sampleRate, weightsPath, checksum, license: m.weights.license, error });
  }
  return { ffmpeg, models, providers: { available: availableProviders() } };
}
