/**
 * TEST DOUBLE — a runner process for tests and the soak (never used by the app): a core wired
 * to the fake engine worker, configured by DEMIX_TEST_RUNNER (JSON: dataDir, pollMs,
 * lockHeartbeatMs, lockStaleMs). It prints "ready runner" or "ready waiting" on stdout, obeys
 * "pause"/"resume" lines on stdin, and closes gracefully on SIGTERM.
 * Run: node --import tsx testing/runner.test-double.ts
 */
import readline from 'node:readline';
import { createCore } from '../main/core.ts';
import { FAKE_WORKER } from './test-harness.ts';

const cfg = JSON.parse(process.env.DEMIX_TEST_RUNNER ?? '{}') as { dataDir: string; pollMs?: number; lockHeartbeatMs?: number; lockStaleMs?: number };
const core = await createCore({
  dataDir: cfg.dataDir,
  host: 'cli',
  appVersion: 'test-runner',
  workerScript: FAKE_WORKER,
  pollMs: cfg.pollMs ?? 100,
  lockHeartbeatMs: cfg.lockHeartbeatMs,
  lockStaleMs: cfg.lockStaleMs,
  onWarning: (m) => process.stderr.write(`runner ${process.pid}: ${m}\n`),
});
const rl = readline.createInterface({ input: process.stdin });
rl.on('line', (line) => {
  if (line === 'pause') core.queue.pause();
  else if (line === 'resume') core.queue.resume();
});
process.once('SIGTERM', () => {
  void core.close().then(() => process.exit(0));
});
process.stdout.write(`ready ${core.runner.isRunner() ? 'runner' : 'waiting'}\n`);
setInterval(() => {}, 1 << 30);
