// Bootstrap for the engine worker when running from TypeScript sources (CLI, tests):
// registers tsx in this thread, then loads worker.ts. The packaged app uses dist/engine-worker.js.
import { register } from 'tsx/esm/api';

register();
await import('./worker.ts');
