// Test double of an engine worker script (main/electron/engine-process.test.ts): on any message,
// starts a tool the engine's way (engine/tool-spawn.ts) and answers whose child the tool was.
import { parentPort } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
const { spawnerReady, spawnTool } = await import('../engine/tool-spawn.ts');

parentPort.on('message', async () => {
  const ready = await spawnerReady();
  const t = spawnTool('/bin/sh', ['-c', 'echo $PPID'], ['ignore', 'pipe']);
  let out = '';
  t.stdout.setEncoding('utf8');
  t.stdout.on('data', (d) => (out += d));
  await new Promise((r) => t.stdout.on('end', r));
  parentPort.postMessage({ ready, toolParent: Number(out.trim()), pid: process.pid });
});
