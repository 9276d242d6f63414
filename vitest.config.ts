import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['{engine,models,main,preload,renderer,scripts}/**/*.test.{ts,tsx}'],
    exclude: ['node_modules/**', 'dist/**', 'e2e/**'],
    // Model tests hold a ~4 GB ONNX Runtime session each and use every core: run files one or two at a time.
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 300_000,
    hookTimeout: 180_000,
  },
});
