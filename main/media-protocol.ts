/** Messages between the core (main/media-thread.ts) and the media worker (main/media-worker.ts). */
import type { MixdownOptions } from './mixdown.ts';
import type { CachedPeaks } from './peaks.ts';

export type MediaRequest =
  | { id: number; op: 'peaks'; file: string }
  | { id: number; op: 'mixdown'; opts: MixdownOptions };

export type MediaReply =
  | { id: number; ok: true; value: CachedPeaks | { path: string; durationSec: number } }
  | { id: number; ok: false; error: { name: string; code?: string; message: string } };
