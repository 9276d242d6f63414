// Bootstrap for the media worker when running from TypeScript sources (CLI, tests): registers
// tsx in this thread, then loads media-worker.ts. The packaged app uses dist/media-worker.js.
import { register } from 'tsx/esm/api';

register();
await import('./media-worker.ts');
