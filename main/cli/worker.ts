/**
 * `demix worker`: with a Redis queue, a worker process that takes jobs from BullMQ (any number of
 * them, on any machine); with the embedded queue, this database's queue run headless.
 */
import os from 'node:os';
import type { DeviceChoice } from '../../preload/contract.ts';
import type { Core } from '../core.ts';
import { engineWorkerPath } from '../../engine/worker-path.ts';
import { chooseQueueUrl } from '../queue/queue.ts';
import { parseQueueUrl } from '../queue/redis-conn.ts';
import { parsePathMap, type PathMap } from '../queue/redis-protocol.ts';
import type { WaitIO } from './wait.ts';

interface WorkerFlags {
  queue?: string;
  concurrency: number;
  device?: DeviceChoice;
  pathMap: string[];
  dataDir?: string;
}

function untilSignal(onFirst: () => void): Promise<void> {
  return new Promise<void>((resolve) => {
    let n = 0;
    const on = () => {
      n++;
      if (n === 1) {
        onFirst();
        resolve();
      } else process.exit(130);
    };
    process.on('SIGINT', on);
    process.on('SIGTERM', on);
  });
}

export async function runWorkerCommand(o: WorkerFlags, io: WaitIO & { workerScript?: string }, openEmbedded: (startQueue: boolean) => Promise<Core>): Promise<number> {
  const url = chooseQueueUrl(o.queue, null);
  if (!url) {
    const core = await openEmbedded(true);
    if (!core.runner.isRunner()) {
      const h = core.runner.holder();
      io.err.write(`demix: another Demix process${h ? ` (pid ${h.pid} on ${h.hostname})` : ''} runs this database's queue; this worker takes over when it stops.\n`);
    }
    io.out.write(`Running the embedded queue of ${core.dataDir} headless (settings: concurrency ${core.settings.get().concurrency}). Ctrl-C to stop.\n`);
    await untilSignal(() => io.err.write('\ndemix: stopping; running jobs go back to the queue.\n'));
    await core.close();
    return 0;
  }
  let pathMap: PathMap;
  try {
    pathMap = parsePathMap(o.pathMap ?? []);
  } catch (e) {
    io.err.write(`demix: ${(e as Error).message}\n`);
    return 2;
  }
  const parsed = parseQueueUrl(url);
  const { startRedisWorker, describePathMap, describeLock } = await import('../queue/redis-worker.ts');
  const w = await startRedisWorker({
    url,
    concurrency: o.concurrency,
    device: o.device,
    pathMap,
    workerScript: io.workerScript || process.env.DEMIX_WORKER_SCRIPT || engineWorkerPath(),
    log: (line) => io.err.write(`demix: ${line}\n`),
  });
  io.out.write(
    `Worker on ${process.env.DEMIX_WORKER_HOST || os.hostname()} (pid ${process.pid}) takes jobs from ${parsed.where}: concurrency ${o.concurrency}, device ${o.device ?? 'per job'}, path map ${describePathMap(pathMap)}; ${describeLock(w.lock)}. Ctrl-C to stop.\n`,
  );
  const stop = untilSignal(() => {
    io.err.write(`\ndemix: finishing ${w.running()} job(s) in flight, taking no new ones (Ctrl-C again to stop now; they then run again on another worker).\n`);
  });
  await Promise.race([stop, w.closed]);
  await w.close(false);
  io.out.write(`Worker stopped after ${w.processed()} job(s).\n`);
  return 0;
}
