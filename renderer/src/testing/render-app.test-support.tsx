/**
 * Test support (imported only by the component tests; lint keeps it out of production modules):
 * renders a tree inside <AppProvider> with the fake API (a test double) and a store over it, in
 * the test's happy-dom document, and unmounts it after each test.
 */
import { act, type ReactNode } from 'react';
import { createRoot, type Root } from 'react-dom/client';
import { afterEach } from 'vitest';
import { AppProvider } from '../context.tsx';
import { createDemixStore, type DemixStore } from '../state/store.ts';
import { createFakeApi, type FakeApi } from './fake-api.ts';

(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

export interface FakeApp {
  api: FakeApi;
  store: DemixStore;
}

/** The fake API and a store over it (no retry timers), for a test to set up before rendering. */
export function fakeApp(api: FakeApi = createFakeApi()): FakeApp {
  return { api, store: createDemixStore(api, { setTimeout: () => 0 }) };
}

/**
 * Registers the calling test file's cleanup — after each test: unmount, empty the document, then
 * `afterUnmount` (e.g. reset a global store) — and returns `render`, which renders `ui` inside
 * <AppProvider> with `app`'s API and store and resolves once React has committed.
 */
export function renderHarness(afterUnmount?: () => void) {
  let root: Root | null = null;
  afterEach(() => {
    act(() => root?.unmount());
    root = null;
    document.body.innerHTML = '';
    afterUnmount?.();
  });
  return async function render(ui: ReactNode, app: FakeApp = fakeApp()): Promise<FakeApp & { el: HTMLDivElement }> {
    const el = document.createElement('div');
    document.body.appendChild(el);
    const r = createRoot(el);
    root = r;
    await act(async () => {
      r.render(
        <AppProvider value={{ api: app.api, store: app.store, appVersion: 'test', mock: false }}>
          {ui}
        </AppProvider>,
      );
    });
    return { ...app, el };
  };
}
