import { describe, expect, it } from 'vitest';
import { resolveModel } from '../models/registry.ts';
import { availableProviders, createSession, providerOrder, ThreadRunner } from './session.ts';

describe('execution providers', () => {
  it('always offers cpu, last, and auto never picks the experimental webgpu', () => {
    const avail = availableProviders();
    expect(avail[avail.length - 1]).toBe('cpu');
    expect(providerOrder('auto')).not.toContain('webgpu');
    expect(providerOrder('auto').at(-1)).toBe('cpu');
    expect(providerOrder('cpu')).toEqual(['cpu']);
  });

  it('falls back to cpu when the asked-for provider is missing, and says why (never silently)', async () => {
    const { weightsPath } = await resolveModel('htdemucs');
    const missing = (['cuda', 'dml', 'coreml'] as const).find((p) => !availableProviders().includes(p))!;
    const s = await createSession(weightsPath, missing);
    expect(s.provider).toBe('cpu');
    expect(s.fallbackReason).toMatch(new RegExp(`using cpu because ${missing}: not available`));
    await s.session.release();
    const t = await ThreadRunner.create(weightsPath, missing, { mix: 'input', spec: 'onnx::ReduceMean_1', specOut: 'output', timeOut: '5073' });
    expect(t.provider).toBe('cpu');
    expect(t.fallbackReason).toMatch(new RegExp(`${missing}: not available`));
    await t.dispose();
  });
});
