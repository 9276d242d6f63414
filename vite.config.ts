import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vite';
import react from '@vitejs/plugin-react';
import { renderNotices } from './scripts/licenses.mjs';

const root = fileURLToPath(new URL('.', import.meta.url));

/** third-party-notices.txt beside index.html, generated from the production dependencies (Diagnostics shows it). */
function thirdPartyNotices(): Plugin {
  return {
    name: 'demix-third-party-notices',
    apply: 'build',
    generateBundle() {
      this.emitFile({ type: 'asset', fileName: 'third-party-notices.txt', source: renderNotices(root) });
    },
  };
}

// The renderer: built to dist/renderer, loaded by Electron (custom protocol / file) and served
// by `demix serve` over http, hence the relative base.
export default defineConfig({
  root: 'renderer',
  base: './',
  plugins: [react(), thirdPartyNotices()],
  build: {
    outDir: '../dist/renderer',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
    chunkSizeWarningLimit: 1500,
  },
  server: { port: 5173, strictPort: false },
});
