/**
 * Finds the DemixApi to talk to: `window.demix` (Electron preload), else the local web bridge
 * client (token from `?token=`, kept in sessionStorage so reloads work), else — only with
 * `?mock=1` — the in-memory dev/test double. Then checks the contract version.
 */
import { CONTRACT_VERSION, type DemixApi } from '../../preload/contract.ts';
import { errorMessage } from './state/store.ts';

export const TOKEN_KEY = 'demix.token';

export type ConnectResult =
  | { ok: true; api: DemixApi; appVersion: string; host: 'electron' | 'web'; mock: boolean }
  | { ok: false; title: string; message: string; hint?: string };

/** Token from the URL (then remembered) or from this tab's session storage. */
export function readToken(search: string, storage: Pick<Storage, 'getItem' | 'setItem'> | null): string | null {
  const fromUrl = new URLSearchParams(search).get('token');
  if (fromUrl) {
    try {
      storage?.setItem(TOKEN_KEY, fromUrl);
    } catch {
      /* storage may be disabled; the URL still has it */
    }
    return fromUrl;
  }
  try {
    return storage?.getItem(TOKEN_KEY) ?? null;
  } catch {
    return null;
  }
}

export interface ConnectDeps {
  windowApi: DemixApi | undefined;
  search: string;
  origin: string;
  storage: Pick<Storage, 'getItem' | 'setItem'> | null;
  createWebClient: (opts: { baseUrl: string; token: string }) => DemixApi;
  createMock: () => Promise<DemixApi>;
}

export async function connect(deps: ConnectDeps): Promise<ConnectResult> {
  const mock = new URLSearchParams(deps.search).get('mock') === '1';
  let api: DemixApi;
  if (deps.windowApi) api = deps.windowApi;
  else if (mock) api = await deps.createMock();
  else {
    const token = readToken(deps.search, deps.storage);
    if (!token) {
      return {
        ok: false,
        title: 'This page needs its access link',
        message: 'Open the address that `demix serve` printed in the terminal: it ends with ?token=… and lets this page talk to Demix.',
        hint: 'Run `npx demix serve` and open the link it prints.',
      };
    }
    api = deps.createWebClient({ baseUrl: deps.origin, token });
  }
  try {
    const hello = await api.invoke('app:hello', { contractVersion: CONTRACT_VERSION });
    if (hello.contractVersion !== CONTRACT_VERSION) {
      return {
        ok: false,
        title: 'Demix needs a restart',
        message: `This window speaks version ${CONTRACT_VERSION} of the app protocol but Demix ${hello.appVersion} speaks version ${hello.contractVersion}.`,
        hint: 'Quit Demix completely and start it again (or reload this page after updating).',
      };
    }
    return { ok: true, api, appVersion: hello.appVersion, host: hello.host, mock };
  } catch (e) {
    const msg = errorMessage(e);
    const code = (e as { code?: string })?.code;
    if (code === 'VERSION_MISMATCH') {
      return { ok: false, title: 'Demix needs a restart', message: msg, hint: 'Quit Demix completely and start it again.' };
    }
    if (code === 'FORBIDDEN') {
      return {
        ok: false,
        title: 'The access link is not valid any more',
        message: msg,
        hint: 'Open the newest link that `demix serve` printed (each run makes a new one).',
      };
    }
    return {
      ok: false,
      title: 'Cannot reach Demix',
      message: msg,
      hint: deps.windowApi ? 'Restart Demix.' : 'Is `demix serve` still running? Start it again and open the link it prints.',
    };
  }
}
