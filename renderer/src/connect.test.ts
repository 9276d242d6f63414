import { describe, expect, it } from 'vitest';
import { connect, readToken, TOKEN_KEY } from './connect.ts';
import { createFakeApi } from './testing/fake-api.ts';
import { CONTRACT_VERSION, DemixRemoteError } from '../../preload/contract.ts';

function memoryStorage() {
  const m = new Map<string, string>();
  return { getItem: (k: string) => m.get(k) ?? null, setItem: (k: string, v: string) => void m.set(k, v), m };
}

const base = {
  origin: 'http://127.0.0.1:1',
  createMock: async () => createFakeApi(),
};

describe('connect', () => {
  it('remembers the token from the URL for reloads', () => {
    const s = memoryStorage();
    expect(readToken('?token=abc', s)).toBe('abc');
    expect(s.m.get(TOKEN_KEY)).toBe('abc');
    expect(readToken('', s)).toBe('abc');
    expect(readToken('', memoryStorage())).toBeNull();
  });

  it('prefers window.demix and checks the contract version', async () => {
    const api = createFakeApi({ host: 'electron' });
    const res = await connect({ ...base, windowApi: api, search: '', storage: null, createWebClient: () => { throw new Error('not used'); } });
    expect(res.ok && res.host).toBe('electron');
    expect(api.calls[0]).toEqual({ channel: 'app:hello', request: { contractVersion: CONTRACT_VERSION } });
  });

  it('builds the web client with the token', async () => {
    let seen: unknown;
    const res = await connect({
      ...base,
      windowApi: undefined,
      search: '?token=t0k',
      storage: memoryStorage(),
      createWebClient: (o) => {
        seen = o;
        return createFakeApi();
      },
    });
    expect(seen).toEqual({ baseUrl: 'http://127.0.0.1:1', token: 't0k' });
    expect(res.ok).toBe(true);
  });

  it('explains a missing token, a version mismatch and a bad token', async () => {
    const noToken = await connect({ ...base, windowApi: undefined, search: '', storage: memoryStorage(), createWebClient: () => createFakeApi() });
    expect(noToken.ok).toBe(false);
    if (!noToken.ok) expect(noToken.message).toContain('?token=');

    const old = await connect({ ...base, windowApi: createFakeApi({ contractVersion: CONTRACT_VERSION + 1 }), search: '', storage: null, createWebClient: () => createFakeApi() });
    expect(!old.ok && old.title).toBe('Demix needs a restart');

    const forbidden = createFakeApi();
    forbidden.override('app:hello', () => {
      throw new DemixRemoteError('FORBIDDEN', 'Bad or missing token.');
    });
    const bad = await connect({ ...base, windowApi: undefined, search: '?token=x', storage: memoryStorage(), createWebClient: () => forbidden });
    expect(!bad.ok && bad.title).toBe('The access link is not valid any more');
  });

  it('uses the dev double only when asked with ?mock=1', async () => {
    const res = await connect({ ...base, windowApi: undefined, search: '?mock=1', storage: null, createWebClient: () => { throw new Error('not used'); } });
    expect(res.ok && res.mock).toBe(true);
  });
});
