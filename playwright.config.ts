import { defineConfig } from '@playwright/test';

/**
 * End-to-end tests: Debian's Chromium drives the real UI through the local web bridge
 * (`demix serve`), with the real engine. e2e/global-setup.ts builds the renderer, starts the
 * bridge on a fresh data folder and points the output folder at a temp dir.
 */
export default defineConfig({
  testDir: 'e2e',
  outputDir: 'e2e/artifacts/results',
  workers: 1,
  fullyParallel: false,
  retries: 0,
  // The real model: ~1.4 s per 7.8 s segment here, ~2 s to load; a 12 s song takes 6-10 s.
  timeout: 420_000,
  expect: { timeout: 15_000 },
  globalSetup: './e2e/global-setup.ts',
  reporter: [['list'], ['html', { outputFolder: 'e2e/artifacts/report', open: 'never' }]],
  use: {
    browserName: 'chromium',
    viewport: { width: 1280, height: 800 },
    screenshot: 'only-on-failure',
    trace: 'retain-on-failure',
    actionTimeout: 15_000,
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--headless',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
        '--disable-quic',
        '--autoplay-policy=no-user-gesture-required',
      ],
    },
  },
});
