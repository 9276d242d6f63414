/** Renderer entry: find the API (Electron preload, web bridge, or the ?mock=1 dev double), check the contract, render. */
import { createRoot } from 'react-dom/client';
import type { DemixApi } from '../../preload/contract.ts';
import { createWebClient } from '../../preload/web-client.ts';
import { connect } from './connect.ts';
import { setConnected } from './state/connection.ts';
import { createDemixStore } from './state/store.ts';
import { AppProvider } from './context.tsx';
import { App } from './components/App.tsx';
import { ErrorScreen, Splash } from './components/ErrorScreen.tsx';
import './styles.css';

declare global {
  interface Window {
    demix?: DemixApi;
  }
}

async function boot() {
  const root = createRoot(document.getElementById('root')!);
  root.render(<Splash />);
  let storage: Storage | null;
  try {
    storage = window.sessionStorage;
  } catch {
    storage = null; // blocked by the browser's privacy settings
  }
  const res = await connect({
    windowApi: window.demix,
    search: window.location.search,
    origin: window.location.origin,
    storage,
    createWebClient: (o) => createWebClient({ ...o, onConnectionChange: setConnected }),
    createMock: async () => (await import('./mock/mock-api.ts')).createMockApi(window.location.search),
  });
  if (!res.ok) {
    document.title = `Demix — ${res.title}`;
    root.render(<ErrorScreen title={res.title} message={res.message} hint={res.hint} />);
    return;
  }
  // Keep the token out of the address bar (it stays in this tab's session storage).
  if (!res.mock && new URLSearchParams(window.location.search).has('token')) {
    const url = new URL(window.location.href);
    url.searchParams.delete('token');
    window.history.replaceState(null, '', url.pathname + url.search + url.hash);
  }
  const store = createDemixStore(res.api);
  root.render(
    <AppProvider value={{ api: res.api, store, appVersion: res.appVersion, mock: res.mock }}>
      <App />
    </AppProvider>,
  );
}

void boot();
