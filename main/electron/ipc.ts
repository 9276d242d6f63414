/**
 * Electron IPC: ONE invoke handler for every contract channel (the channel name travels in the
 * payload), guarded by a sender check, answering WireResult envelopes from `dispatch`; pushed
 * contract events forwarded to the window; the stem drag-out channel.
 */
import { ipcMain, type BrowserWindow, type IpcMainEvent, type IpcMainInvokeEvent } from 'electron';
import { DRAG_CHANNEL, EVENT_CHANNEL, INVOKE_CHANNEL, eventNames, type WireResult } from '../../preload/contract.ts';
import { describeError, dispatch, type Handlers, type ShellCore } from '../handlers.ts';
import { isTrustedSender } from './security.ts';

export interface IpcOptions {
  handlers: Handlers;
  getWindow(): BrowserWindow | null;
  /** Start a native drag of a job's stem (already from a trusted sender). */
  onDrag?(event: IpcMainEvent, jobId: string, stem: string): void | Promise<void>;
  log?(message: string): void;
  /** Tests: parse responses too. */
  checkResponse?: boolean;
}

export const FORBIDDEN_SENDER: WireResult<never> = {
  ok: false,
  error: { code: 'FORBIDDEN', message: 'This request did not come from the Demix window.' },
};

/** Registers the handlers; returns a function that removes them. */
export function registerIpc(opts: IpcOptions): () => void {
  const log = opts.log ?? ((m: string) => console.error(m));
  const trusted = (event: IpcMainInvokeEvent | IpcMainEvent) => {
    const win = opts.getWindow();
    return isTrustedSender(event.senderFrame, event.sender, win && !win.isDestroyed() ? win.webContents : null);
  };

  ipcMain.handle(INVOKE_CHANNEL, async (event, channel: unknown, payload: unknown) => {
    if (!trusted(event)) {
      log(`demix: refused ${String(channel).slice(0, 40)} from an untrusted sender (${event.senderFrame?.url ?? 'no frame'})`);
      return FORBIDDEN_SENDER;
    }
    return dispatch(opts.handlers, channel, payload, {
      checkResponse: opts.checkResponse,
      onInternalError: (c, e) => log(`demix: ${c} failed: ${describeError(e)}`),
    });
  });

  const onDrag = (event: IpcMainEvent, msg: unknown) => {
    if (!trusted(event) || !opts.onDrag) return;
    const { jobId, stem } = (msg ?? {}) as { jobId?: unknown; stem?: unknown };
    if (typeof jobId !== 'string' || typeof stem !== 'string') return;
    Promise.resolve(opts.onDrag(event, jobId, stem)).catch((e: unknown) => log(`demix: drag failed: ${e instanceof Error ? e.message : String(e)}`));
  };
  ipcMain.on(DRAG_CHANNEL, onDrag);

  return () => {
    ipcMain.removeHandler(INVOKE_CHANNEL);
    ipcMain.removeListener(DRAG_CHANNEL, onDrag);
  };
}

/** Forwards every contract event from the core's bus to the window. Returns the unsubscribe. */
export function forwardEvents(core: Pick<ShellCore, 'bus'>, getWindow: () => BrowserWindow | null): () => void {
  const offs = eventNames.map((event) =>
    core.bus.on(event, (payload) => {
      const win = getWindow();
      if (!win || win.isDestroyed() || win.webContents.isDestroyed()) return;
      win.webContents.send(EVENT_CHANNEL, { event, payload });
    }),
  );
  return () => offs.forEach((off) => off());
}
