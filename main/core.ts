/**
 * The main-process core: job store + queue + services, shared by the Electron shell, the web
 * bridge and the CLI. Plain Node (never imports electron).
 */
import type {
  Diagnostics,
  EventName,
  EventPayload,
  Job,
  JobOptions,
  ParsedRequestOf,
  Peaks,
  QueueState,
  ResponseOf,
  Settings,
} from '../preload/contract.ts';

/** Job options as accepted by the core: the contract's options plus an output root override. */
export type AddOptions = Partial<JobOptions> & {
  /** Output root for these jobs (stems go to `<outputDir>/<model>/…`); default: settings.outputDir. */
  outputDir?: string;
};

export interface CoreOptions {
  dataDir: string;
  host: 'electron' | 'web' | 'cli';
  appVersion: string;
  /** Tests: a fake engine worker script speaking engine/worker-protocol.ts. */
  workerScript?: string;
  /** Start the worker pool (default true). When another process holds the runner lock, no workers run here. */
  startQueue?: boolean;
}

export interface Core {
  dataDir: string;
  dbPath: string;
  bus: { on<E extends EventName>(e: E, cb: (p: EventPayload<E>) => void): () => void };
  jobs: {
    addPaths(paths: string[], options?: AddOptions): Promise<ResponseOf<'jobs:add-files'>>;
    addFolder(path: string, options?: AddOptions): Promise<ResponseOf<'jobs:add-folder'>>;
    list(req: ParsedRequestOf<'jobs:list'>): ResponseOf<'jobs:list'>;
    /** Throws CoreError NOT_FOUND. */
    get(id: string): Job;
    /** CoreError CONFLICT when the state doesn't allow it. */
    cancel(id: string): Job;
    retry(id: string): Job;
    remove(id: string, deleteFiles: boolean): void;
    reorder(id: string, beforeId: string | null): Job[];
    peaks(id: string, stem: string, buckets: number): Promise<Peaks>;
    exportMixdown(req: ParsedRequestOf<'mixdown:export'>): Promise<ResponseOf<'mixdown:export'>>;
    /** Absolute path of a stem file (or 'mix' = the job's input, or a mixdown file name) owned by the job, or null. */
    mediaPath(jobId: string, stem: string): string | null;
  };
  queue: { pause(): QueueState; resume(): QueueState; state(): QueueState };
  settings: { get(): Settings; set(patch: Partial<Settings>): Settings };
  diagnostics(host: 'electron' | 'web'): Promise<Diagnostics>;
  close(): Promise<void>;
}

export async function createCore(_opts: CoreOptions): Promise<Core> {
  throw new Error('createCore: not implemented yet (store+queue helper is building it)');
}
