/**
 * One function per contract channel, mapping a parsed request to the Core service.
 *
 * Shared by the Electron IPC handler (main/electron/ipc.ts) and the local web bridge
 * (main/bridge/server.ts): both call `dispatch(handlers, channel, payload)`, which parses the
 * payload with the contract's schema and answers with a WireResult envelope. It never throws.
 *
 * Plain Node: no electron here. The two host-specific channels (`shell:reveal`,
 * `dialog:open-files`) are implemented by the host passed to `createHandlers`.
 */
import {
  CONTRACT_VERSION,
  ErrorCode,
  channels,
  parseRequest,
  type Channel,
  type ParsedRequestOf,
  type ResponseOf,
  type WireError,
  type WireResult,
} from '../preload/contract.ts';
import type { Core } from './core.ts';
import { CoreError } from './core-error.ts';
import { streamInfo } from './stream-info.ts';

/** The part of the Core (main/core.ts) the shell uses; tests pass a fake with this shape. */
export type ShellCore = Pick<Core, 'dataDir' | 'bus' | 'queue' | 'settings' | 'diagnostics'> & {
  jobs: Pick<
    Core['jobs'],
    'addPaths' | 'addFolder' | 'addUpload' | 'list' | 'get' | 'cancel' | 'retry' | 'remove' | 'reorder' | 'peaks' | 'exportMixdown' | 'mediaPath' | 'ownsPath' | 'preview'
  >;
};

/** What differs between Electron and the web bridge. */
export interface HandlerHost {
  kind: 'electron' | 'web';
  appVersion: string;
  /** Show a file in the system file manager. Absent → the channel answers UNSUPPORTED. */
  reveal?(path: string): Promise<void> | void;
  /** Native open dialog. Absent → an empty list (the browser has its own file picker). */
  openFiles?(opts: { folders: boolean }): Promise<string[]>;
}

export type Handler<C extends Channel> = (req: ParsedRequestOf<C>) => Promise<ResponseOf<C>>;
export type Handlers = { [C in Channel]: Handler<C> };

export function createHandlers(core: ShellCore, host: HandlerHost): Handlers {
  return {
    'app:hello': async (req) => {
      if (req.contractVersion !== CONTRACT_VERSION) {
        throw new CoreError(
          'VERSION_MISMATCH',
          `This window speaks contract v${req.contractVersion} but Demix's main process speaks v${CONTRACT_VERSION}: reload the window, or reinstall Demix if it persists.`,
        );
      }
      return { contractVersion: CONTRACT_VERSION, appVersion: host.appVersion, host: host.kind };
    },
    'jobs:add-files': (req) => core.jobs.addPaths(req.paths, req.options),
    'jobs:add-folder': (req) => core.jobs.addFolder(req.path, req.options),
    'jobs:add-upload': (req) => core.jobs.addUpload(req.uploadId, req.options),
    'jobs:list': async (req) => core.jobs.list(req),
    'jobs:get': async (req) => ({ job: core.jobs.get(req.id) }),
    'jobs:cancel': async (req) => ({ job: core.jobs.cancel(req.id) }),
    'jobs:retry': async (req) => ({ job: core.jobs.retry(req.id) }),
    'jobs:remove': async (req) => {
      await core.jobs.remove(req.id, req.deleteFiles);
      return { ok: true as const };
    },
    'jobs:reorder': async (req) => ({ jobs: core.jobs.reorder(req.id, req.beforeId) }),
    'jobs:peaks': (req) => core.jobs.peaks(req.id, req.stem, req.buckets),
    'jobs:stream-info': (req) => streamInfo(core.jobs.get(req.id)),
    'jobs:preview': async (req) => ({ job: await core.jobs.preview(req.id, req.startSec, req.endSec) }),
    'queue:pause': async () => core.queue.pause(),
    'queue:resume': async () => core.queue.resume(),
    'queue:state': async () => core.queue.state(),
    'settings:get': async () => core.settings.get(),
    'settings:set': async (req) => core.settings.set(req),
    'mixdown:export': (req) => core.jobs.exportMixdown(req),
    'shell:reveal': async (req) => {
      if (!host.reveal) {
        throw new CoreError('UNSUPPORTED', 'Showing files in the file manager only works in the Demix desktop app.');
      }
      // Like media: only a job's own files and folders (its input, its output folder, its stems and mixdowns).
      if (!(await core.jobs.ownsPath(req.path))) {
        throw new CoreError('NOT_FOUND', `${req.path} is not a file or folder of any job: only songs, stems and job folders can be shown.`);
      }
      await host.reveal(req.path);
      return { ok: true as const };
    },
    'dialog:open-files': async (req) => ({ paths: host.openFiles ? await host.openFiles({ folders: req.folders }) : [] }),
    'diagnostics:get': () => core.diagnostics(host.kind),
  };
}

export interface DispatchOptions {
  /** Also parse the response with the contract (tests; catches Core/contract drift). */
  checkResponse?: boolean;
  /** Called with unexpected (INTERNAL) errors, e.g. to log them. */
  onInternalError?(channel: string, error: unknown): void;
}

/** Maps any thrown value to a wire error. CoreError keeps its code. */
export function toWireError(e: unknown): WireError {
  if (e instanceof Error) {
    const code = (e as { code?: unknown }).code;
    const known = ErrorCode.safeParse(code);
    if (known.success && e.name !== 'DemixError') {
      return { code: known.data, message: e.message };
    }
    // Engine errors (DemixError) carry a user-facing one-line message already.
    if (e.name === 'DemixError') return { code: 'INTERNAL', message: e.message };
    return { code: 'INTERNAL', message: `Unexpected error: ${e.message}` };
  }
  return { code: 'INTERNAL', message: `Unexpected error: ${String(e)}` };
}

/** One log line for an error: typed (user-facing) errors by message, anything else with its stack. */
export function describeError(e: unknown): string {
  if (e instanceof Error) return e.name === 'CoreError' || e.name === 'DemixError' ? `${e.name}: ${e.message}` : (e.stack ?? e.message);
  return String(e);
}

/** Parses, calls the channel's handler and wraps the outcome. Never throws. */
export async function dispatch(
  handlers: Handlers,
  channel: unknown,
  payload: unknown,
  opts: DispatchOptions = {},
): Promise<WireResult<unknown>> {
  const parsed = parseRequest(channel, payload);
  if (!parsed.ok) return { ok: false, error: parsed.error };
  const name = parsed.channel as Channel;
  try {
    const handler = handlers[name] as (req: unknown) => Promise<unknown>;
    const value = await handler(parsed.value);
    if (opts.checkResponse) {
      const check = channels[name].response.safeParse(value);
      if (!check.success) {
        return { ok: false, error: { code: 'INTERNAL', message: `${name}: response does not match the contract: ${check.error.message}` } };
      }
    }
    return { ok: true, value };
  } catch (e) {
    const error = toWireError(e);
    if (error.code === 'INTERNAL') opts.onInternalError?.(name, e);
    return { ok: false, error };
  }
}
