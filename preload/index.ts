/**
 * Electron preload (sandboxed; bundled to CommonJS by scripts/build.mjs).
 *
 * Gives the page exactly one object, `window.demix`, implementing the contract's DemixApi on top
 * of one invoke channel and one event channel. Nothing from Electron or Node leaks into the
 * page: no ipcRenderer, no generic send/on.
 *
 * Errors: contextBridge copies only the message of an Error thrown across it, so `code` would
 * be lost. The preload therefore hands the page a small shim (run in the main world with
 * `contextBridge.executeInMainWorld`) that turns the WireResult into a DemixRemoteError-shaped
 * error there (the contract's DemixRemoteError recognises it with `instanceof`).
 */
import { contextBridge, ipcRenderer, webUtils } from 'electron';
import {
  CONTRACT_VERSION,
  DRAG_CHANNEL,
  DemixRemoteError,
  EVENT_CHANNEL,
  INVOKE_CHANNEL,
  eventNames,
  type Channel,
  type DemixApi,
  type EventName,
  type EventPayload,
  type RequestOf,
  type ResponseOf,
  type WireResult,
} from './contract.ts';

type AnyListener = (payload: unknown) => void;

/** The isolated-world half: everything that touches ipcRenderer. */
export interface RawApi {
  host: 'electron';
  contractVersion: number;
  invokeRaw(channel: string, request: unknown): Promise<WireResult<unknown>>;
  on(event: string, listener: AnyListener): () => void;
  mediaUrl(jobId: string, stem: string): string;
  pathForFile(file: File): string | null;
  startDrag(jobId: string, stem: string): void;
}

export function mediaUrl(jobId: string, stem: string): string {
  return `demix-media://job/${encodeURIComponent(jobId)}/${encodeURIComponent(stem)}`;
}

export function createRawApi(): RawApi {
  const listeners = new Map<string, Set<AnyListener>>();
  ipcRenderer.on(EVENT_CHANNEL, (_event, message: { event?: unknown; payload?: unknown }) => {
    if (!message || typeof message.event !== 'string' || !(eventNames as string[]).includes(message.event)) return;
    for (const l of [...(listeners.get(message.event) ?? [])]) {
      try {
        l(message.payload);
      } catch (e) {
        console.error(`demix: a listener for ${message.event} threw`, e);
      }
    }
  });
  return {
    host: 'electron',
    contractVersion: CONTRACT_VERSION,
    async invokeRaw(channel, request) {
      try {
        const result = (await ipcRenderer.invoke(INVOKE_CHANNEL, String(channel), request ?? {})) as WireResult<unknown>;
        if (result && typeof result === 'object' && typeof result.ok === 'boolean') return result;
        return { ok: false, error: { code: 'INTERNAL', message: `${channel}: no answer from the main process.` } };
      } catch (e) {
        return { ok: false, error: { code: 'INTERNAL', message: `${channel}: ${e instanceof Error ? e.message : String(e)}` } };
      }
    },
    on(event, listener) {
      if (typeof listener !== 'function') throw new TypeError('demix.on: the listener must be a function');
      let set = listeners.get(event);
      if (!set) listeners.set(event, (set = new Set()));
      set.add(listener);
      return () => void set.delete(listener);
    },
    mediaUrl: (jobId, stem) => mediaUrl(String(jobId), String(stem)),
    pathForFile(file) {
      try {
        return webUtils.getPathForFile(file) || null;
      } catch {
        return null;
      }
    },
    startDrag(jobId, stem) {
      ipcRenderer.send(DRAG_CHANNEL, { jobId: String(jobId), stem: String(stem) });
    },
  };
}

/**
 * Runs in the page's world (serialised by Electron: it must not reference anything outside
 * itself). Builds the DemixApi from the raw bridge and installs it as a read-only `window.demix`.
 */
export function installInMainWorld(raw: RawApi): void {
  const api = {
    host: raw.host,
    contractVersion: raw.contractVersion,
    invoke: async (channel: string, request: unknown) => {
      const result = await raw.invokeRaw(channel, request);
      if (result.ok) return result.value;
      const error = new Error(result.error.message) as Error & { code: string };
      error.name = 'DemixRemoteError';
      error.code = result.error.code;
      throw error;
    },
    on: (event: string, listener: AnyListener) => raw.on(event, listener),
    mediaUrl: (jobId: string, stem: string) => raw.mediaUrl(jobId, stem),
    pathForFile: (file: File) => raw.pathForFile(file),
    startDrag: (jobId: string, stem: string) => raw.startDrag(jobId, stem),
  };
  Object.defineProperty(globalThis, 'demix', { value: Object.freeze(api), enumerable: true, configurable: false, writable: false });
}

/** The same API built in the isolated world (fallback when executeInMainWorld is unavailable). */
export function wrapRawApi(raw: RawApi): DemixApi {
  return {
    host: 'electron',
    contractVersion: CONTRACT_VERSION,
    async invoke<C extends Channel>(channel: C, request: RequestOf<C>): Promise<ResponseOf<C>> {
      const result = await raw.invokeRaw(channel, request);
      if (result.ok) return result.value as ResponseOf<C>;
      throw new DemixRemoteError(result.error.code, result.error.message);
    },
    on<E extends EventName>(event: E, listener: (payload: EventPayload<E>) => void) {
      return raw.on(event, listener as AnyListener);
    },
    mediaUrl: raw.mediaUrl,
    pathForFile: raw.pathForFile,
    startDrag: raw.startDrag,
  };
}

export function exposeDemix(): void {
  const raw = createRawApi();
  if (typeof contextBridge.executeInMainWorld === 'function') {
    contextBridge.executeInMainWorld({ func: installInMainWorld, args: [raw] });
  } else {
    contextBridge.exposeInMainWorld('demix', wrapRawApi(raw));
  }
}

exposeDemix();
