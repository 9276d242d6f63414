/**
 * The `demix` command line: a front door onto the same core (job store + queue) as the app.
 * bin/demix.js calls `main(argv)` and exits with the code it returns.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { JobStatus, type BitDepth } from '../preload/contract.ts';
import { createCore, type Core } from './core.ts';
import { isCoreError } from './core-error.ts';
import { checkOutputRoot, parseSpan, spanProblem, SKIPPED_PREFIX } from './jobs.ts';
import { resolveDataDir } from './paths.ts';
import { waitForJobs, type WaitIO } from './cli/wait.ts';
import { fmtMusic, fmtSeconds, truncate } from './cli/format.ts';

export function appVersion(): string {
  try {
    const pkg = JSON.parse(fs.readFileSync(fileURLToPath(new URL('../package.json', import.meta.url)), 'utf8')) as { version?: string };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

export interface CliIO extends WaitIO {
  /** Tests: a fake engine worker instead of the real one. */
  workerScript?: string;
}

const dataDirOption = () => new Option('--data-dir <dir>', 'where the job database lives (default: DEMIX_DATA_DIR or the platform data folder)');
const queueOption = () =>
  new Option('--queue <url>', 'job queue: redis://[:password@]host:port[/db] (rediss:// for TLS) for `demix worker`s on any machine, or "embedded" (default: DEMIX_QUEUE, then the app setting, then embedded)');

function parseBits(v: string): BitDepth {
  const map: Record<string, BitDepth> = { '16': 16, '24': 24, '32': 32, '32f': 32 };
  const b = map[v];
  if (!b) throw new InvalidArgumentError('use 16, 24 or 32f');
  return b;
}
function parseExcerpt(v: string): { startSec: number; endSec: number } {
  const span = parseSpan(v);
  if (!span) throw new InvalidArgumentError('write START-END in seconds or m:ss, e.g. 60-90 or 1:00-1:30');
  const problem = spanProblem(span, null);
  if (problem) throw new InvalidArgumentError(problem.replace(/^Excerpt [^:]*: /, ''));
  return span;
}
function parseIntArg(min: number, max: number) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`use a whole number from ${min} to ${max}`);
    return n;
  };
}

async function openCore(dataDir: string | undefined, io: CliIO, host: 'cli' | 'web', startQueue: boolean, queue?: string): Promise<Core> {
  return createCore({
    queueUrl: queue,
    dataDir: resolveDataDir(dataDir),
    host,
    appVersion: appVersion(),
    workerScript: io.workerScript || process.env.DEMIX_WORKER_SCRIPT || undefined,
    startQueue,
    onWarning: (m) => io.err.write(`demix: ${m}\n`),
  });
}

function reportRunner(core: Core, io: CliIO): void {
  const q = core.queueKind();
  if (q.kind === 'redis') {
    if (core.queue.state().workers === 0) {
      io.err.write(`demix: no \`demix worker\` is connected to ${q.where} yet; the jobs wait there until one starts (demix worker --queue ${q.where}).\n`);
    }
    return;
  }
  if (core.runner.isRunner()) return;
  const h = core.runner.holder();
  io.err.write(
    `demix: another Demix process${h ? ` (pid ${h.pid} on ${h.hostname})` : ''} is running the job queue on this database; waiting for it to process these jobs…\n`,
  );
}

/**
 * Waits for jobs, handling Ctrl-C / SIGTERM: the jobs stay resumable (running ones stop at the
 * next segment and go back to queued when the core closes, queued ones stay queued; no partial
 * files are left), and the same command run again finishes them. Prints the summary; returns
 * the exit code.
 */
async function waitAndSummarize(core: Core, ids: string[], io: CliIO, started: number, extra: { skipped: number; bad: number }): Promise<number> {
  const ac = new AbortController();
  let interrupted = false;
  const onSig = () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    io.err.write(
      core.runner.isRunner()
        ? '\ndemix: interrupted; stopping at the next segment and leaving these jobs queued: run the same command again to finish them (Ctrl-C again to quit at once)…\n'
        : '\ndemix: interrupted; these jobs stay queued in the other Demix process that runs the queue.\n',
    );
    ac.abort();
  };
  process.on('SIGINT', onSig);
  process.on('SIGTERM', onSig);
  try {
    const s = await waitForJobs(core, ids, io, { signal: ac.signal });
    const providers = [...s.providers].filter((p) => p !== 'cache');
    const parts = [`${s.done} done`, `${s.failed + extra.bad} failed`, `${extra.skipped} skipped`];
    if (s.canceled) parts.push(`${s.canceled} canceled`);
    const left = ids.length - s.done - s.failed - s.canceled;
    if (interrupted && left > 0) parts.push(`${left} left queued`);
    io.out.write(`\n${parts.join(', ')} in ${fmtSeconds(Date.now() - started)}${providers.length ? ` (execution provider: ${providers.join(', ')})` : ''}.\n`);
    if (interrupted) return 130;
    return s.failed + extra.bad > 0 || s.canceled > 0 ? 1 : 0;
  } finally {
    // A second signal while the core closes (the running segment ends) quits at once (default action).
    process.off('SIGINT', onSig);
    process.off('SIGTERM', onSig);
  }
}

export function buildProgram(io: CliIO, setCode: (c: number) => void): Command {
  const program = new Command('demix')
    .description('Separate songs into stems (drums, bass, other, vocals) on your own machine.')
    .version(appVersion(), '-V, --version')
    .option('--licenses', "print Demix's licence and the third-party notices (ffmpeg, Electron, ONNX Runtime, npm packages, model weights)")
    .configureOutput({
      writeOut: (s) => io.out.write(s),
      writeErr: (s) => io.err.write(s),
      // One line per usage error: "demix: <what is wrong, and the valid choices>".
      outputError: (s, write) => write(`demix: ${s.replace(/^error: /, '').trimEnd()}\n`),
    })
    .exitOverride();

  program
    .command('separate')
    .description('separate files and folders (searched recursively) into stems, through the job queue')
    .argument('<paths...>', 'audio files or folders')
    .option('-o, --output <dir>', 'output root: stems go to <dir>/<model>/<track>/<stem>.<ext>', 'separated')
    .addOption(new Option('--format <format>', 'output format').choices(['wav', 'flac', 'mp3']))
    .option('--bits <bits>', 'bit depth for wav/flac: 16, 24 or 32f (float)', parseBits)
    .option('--two-stems <stem>', 'keep this stem and its complement (no_<stem>), e.g. vocals')
    .option('--shifts <n>', 'random time shifts averaged (slower, slightly better)', parseIntArg(0, 20))
    .addOption(new Option('--device <device>', 'execution provider').choices(['auto', 'cpu', 'cuda', 'dml', 'coreml', 'webgpu']))
    .addOption(new Option('--clip-mode <mode>', 'rescale (default) scales a stem down if it would clip; clamp clips it').choices(['rescale', 'clamp']))
    .option('--model <id>', 'model id (see `demix doctor`)')
    .option('--excerpt <span>', 'separate only START-END of each file (seconds or m:ss, e.g. 60-90), into "<track> [START-END]"', parseExcerpt)
    .addOption(queueOption())
    .addOption(dataDirOption())
    .action(async (paths: string[], o) => {
      const started = Date.now();
      // Every flag is checked before anything is created (output folder, database).
      const { listModels } = await import('../models/registry.ts');
      const models = listModels();
      if (o.model && !models.some((m) => m.id === o.model)) {
        throw new InvalidArgumentError(`unknown model "${o.model}": use one of ${models.map((m) => m.id).join(', ')} (add a manifest to the models folder to add one)`);
      }
      if (o.twoStems) {
        // Without --model the model comes from the settings: accept a stem any model knows, the core checks the rest.
        const pool = o.model ? models.filter((m) => m.id === o.model) : models;
        const stems = [...new Set(pool.flatMap((m) => m.stems))];
        if (!stems.includes(o.twoStems)) {
          throw new InvalidArgumentError(`--two-stems "${o.twoStems}" is not a stem of ${o.model ? `model ${o.model}` : 'the installed models'}: use one of ${stems.join(', ')}`);
        }
      }
      const outputDir = path.resolve(o.output);
      const bad = checkOutputRoot(outputDir);
      if (bad) {
        io.err.write(`demix: ${bad.message}\n`);
        setCode(1);
        return;
      }
      const core = await openCore(o.dataDir, io, 'cli', true, o.queue);
      try {
        reportRunner(core, io);
        const res = await core.jobs.addPaths(paths, {
          outputDir,
          format: o.format,
          bits: o.bits,
          twoStems: o.twoStems,
          shifts: o.shifts,
          device: o.device,
          modelId: o.model,
          clipMode: o.clipMode,
          excerpt: o.excerpt,
        });
        let skipped = 0;
        let badInputs = 0;
        for (const r of res.rejected) {
          if (r.reason.startsWith(SKIPPED_PREFIX)) {
            skipped++;
            io.out.write(`- ${r.path}: ${r.reason}\n`);
          } else {
            badInputs++;
            io.err.write(`✗ ${r.path}: ${r.reason}\n`);
          }
        }
        if (res.jobs.length) io.out.write(`Queued ${res.jobs.length} file${res.jobs.length === 1 ? '' : 's'} → ${outputDir}\n`);
        setCode(await waitAndSummarize(core, res.jobs.map((j) => j.id), io, started, { skipped, bad: badInputs }));
      } finally {
        await core.close();
      }
    });

  program
    .command('jobs')
    .description('list jobs (history and queue)')
    .addOption(new Option('--status <status>', 'only jobs with this status').choices(JobStatus.options))
    .option('--limit <n>', 'at most this many', parseIntArg(1, 10_000), 50)
    .option('--json', 'print JSON (the contract Job shape)')
    .addOption(queueOption())
    .addOption(dataDirOption())
    .action(async (o) => {
      const core = await openCore(o.dataDir, io, 'cli', false, o.queue);
      try {
        const res = core.jobs.list({ status: o.status ? [o.status] : undefined, limit: o.limit, offset: 0 });
        if (o.json) {
          io.out.write(`${JSON.stringify(res, null, 2)}\n`);
          return;
        }
        if (!res.jobs.length) {
          io.out.write('No jobs.\n');
          return;
        }
        for (const j of res.jobs) {
          const pct = j.status === 'running' ? ` ${Math.round(j.progress * 100)}%` : '';
          const where = j.workerHost && (j.status === 'running' || j.status === 'done') ? ` [${j.workerHost}]` : '';
          const detail = (j.status === 'failed' ? (j.error?.message ?? '') : j.status === 'done' ? (j.outputDir ?? '') : '') + where;
          io.out.write(`${j.id}  ${(j.status + pct).padEnd(12)} ${truncate(j.name, 40).padEnd(40)}  ${fmtMusic(j).padEnd(18)}  ${detail}\n`);
        }
        if (res.total > res.jobs.length) io.out.write(`(${res.jobs.length} of ${res.total}; use --limit)\n`);
      } finally {
        await core.close();
      }
    });

  program
    .command('retry')
    .description('put a failed or canceled job (or all failed ones) back in the queue and wait for it')
    .argument('[id]', 'job id (see `demix jobs`)')
    .option('--failed', 'retry every failed job')
    .option('--no-wait', 'only re-queue; do not wait')
    .addOption(queueOption())
    .addOption(dataDirOption())
    .action(async (id: string | undefined, o) => {
      if (!id && !o.failed) throw new InvalidArgumentError('retry needs a job id (see `demix jobs`) or --failed');
      if (id && o.failed) throw new InvalidArgumentError('retry takes a job id or --failed, not both');
      const started = Date.now();
      const core = await openCore(o.dataDir, io, 'cli', o.wait !== false, o.queue);
      try {
        const ids = id ? [id] : core.jobs.list({ status: ['failed'], limit: 10_000, offset: 0 }).jobs.map((j) => j.id);
        if (!ids.length) {
          io.out.write('No failed jobs.\n');
          return;
        }
        for (const x of ids) core.jobs.retry(x);
        io.out.write(`Re-queued ${ids.length} job${ids.length === 1 ? '' : 's'}.\n`);
        if (o.wait === false) return;
        reportRunner(core, io);
        setCode(await waitAndSummarize(core, ids, io, started, { skipped: 0, bad: 0 }));
      } finally {
        await core.close();
      }
    });

  program
    .command('cancel')
    .description('cancel a queued or running job')
    .argument('<id>', 'job id (see `demix jobs`)')
    .addOption(queueOption())
    .addOption(dataDirOption())
    .action(async (id: string, o) => {
      const core = await openCore(o.dataDir, io, 'cli', false, o.queue);
      try {
        const j = core.jobs.cancel(id);
        io.out.write(`Canceled ${j.name}.\n`);
      } finally {
        await core.close();
      }
    });

  program
    .command('clean')
    .description('remove finished job records (done, failed, canceled); stems stay on disk unless --stems')
    .option('--stems', 'also delete the stem files of those jobs')
    .addOption(new Option('--status <status>', 'only jobs with this status').choices(['done', 'failed', 'canceled']))
    .addOption(queueOption())
    .addOption(dataDirOption())
    .action(async (o) => {
      const core = await openCore(o.dataDir, io, 'cli', false, o.queue);
      try {
        const statuses = o.status ? [o.status] : (['done', 'failed', 'canceled'] as const);
        const n = core.jobs.clean({ statuses: [...statuses], deleteFiles: !!o.stems });
        io.out.write(`Removed ${n} job record${n === 1 ? '' : 's'}${o.stems ? ' and their stem files' : ' (stem files kept)'}.\n`);
      } finally {
        await core.close();
      }
    });

  program
    .command('doctor')
    .description('check ffmpeg, the model weights and the execution providers')
    .option('--recheck', 'run the GPU providers\' self-check again (one segment on each GPU provider and on the CPU)')
    .option('--bench', 'time one segment on every available provider and show its realtime factor')
    .addOption(dataDirOption())
    .action(async (o) => {
      const { engineDiagnostics } = await import('../engine/doctor.ts');
      const d = await engineDiagnostics();
      let ok = true;
      io.out.write(`demix ${appVersion()} (node ${process.versions.node}, ${process.platform}/${process.arch})\n`);
      if (d.ffmpeg.path && !d.ffmpeg.error) io.out.write(`ffmpeg:    ${d.ffmpeg.path} (${d.ffmpeg.source}) ${d.ffmpeg.version ?? ''}\n`);
      else {
        ok = false;
        io.out.write(`ffmpeg:    MISSING — ${d.ffmpeg.error ?? 'not found'}\n`);
      }
      for (const m of d.models) {
        const state = m.checksum === 'ok' ? 'checksum ok' : m.checksum;
        if (m.checksum !== 'ok' && m.checksum !== 'unverified') ok = false;
        io.out.write(`model:     ${m.id} (${m.stems.join(', ')}) ${m.weightsPath ?? '(no weights)'} — ${state}${m.error ? `: ${m.error}` : ''}\n`);
      }
      const { providerOrder } = await import('../engine/session.ts');
      const order = providerOrder('auto');
      io.out.write(`providers: available ${d.providers.available.join(', ') || 'none'}; --device auto uses ${order[0] ?? 'cpu'}${order.length > 1 ? ` (then ${order.slice(1).join(', ')} as fallback)` : ''}\n`);
      if (o.recheck || o.bench) await providerChecks(io, { recheck: Boolean(o.recheck), bench: Boolean(o.bench) });
      io.out.write(`data:      ${resolveDataDir(o.dataDir)}\n`);
      io.out.write(ok ? 'All good.\n' : 'Problems found (see above).\n');
      if (!ok) setCode(1);
    });

  program
    .command('serve')
    .description('serve the Demix UI and API to a browser on this machine (127.0.0.1)')
    .option('--port <n>', 'port (default: a free one)', parseIntArg(0, 65535), 0)
    .option('--token <token>', 'access token (default: DEMIX_BRIDGE_TOKEN or a random one)')
    .option('--renderer-dir <dir>', 'built renderer to serve (default: dist/renderer)')
    .addOption(queueOption())
    .addOption(dataDirOption())
    .action(async (o) => {
      const { startBridge } = await import('./bridge/server.ts');
      const core = await openCore(o.dataDir, io, 'web', true, o.queue);
      reportRunner(core, io);
      let bridge: Awaited<ReturnType<typeof startBridge>>;
      try {
        bridge = await startBridge({
          core,
          port: o.port,
          token: o.token ?? process.env.DEMIX_BRIDGE_TOKEN ?? undefined,
          rendererDir: o.rendererDir ? path.resolve(o.rendererDir) : undefined,
          appVersion: appVersion(),
        });
      } catch (e) {
        await core.close();
        const err = e as NodeJS.ErrnoException;
        io.err.write(`demix: ${err.code === 'EADDRINUSE' ? `port ${o.port} on 127.0.0.1 is already in use: choose another with --port (or --port 0 for any free port)` : err.message}\n`);
        setCode(1);
        return;
      }
      // The UI is built (when missing or stale) once the port is ours and before anyone has the
      // address: no request can see a half-built folder, and a busy port fails at once.
      if (!o.rendererDir) {
        const { ensureRenderer } = await import('./bridge/ensure-renderer.ts');
        const { appRoot } = await import('./app-root.ts');
        await ensureRenderer(appRoot(), (m) => io.err.write(`${m}\n`));
      }
      io.out.write(`Demix is serving on ${bridge.url}\nOpen that address in a browser on this machine. Press Ctrl-C to stop.\n`);
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      await bridge.close();
      await core.close();
    });

  program
    .command('worker')
    .description('run jobs headless: from a Redis queue (any number of machines), or this database\'s embedded queue')
    .addOption(queueOption())
    .option('--concurrency <n>', 'jobs at once on this machine (each holds one model session, ~4-5 GB on CPU)', parseIntArg(1, 64), 1)
    .addOption(new Option('--device <device>', 'execution provider on this machine (default: each job\'s own)').choices(['auto', 'cpu', 'cuda', 'dml', 'coreml', 'webgpu']))
    .option('--path-map <FROM=TO>', 'the submitters\' path prefix FROM is TO on this machine (repeatable)', (v: string, prev: string[]) => [...prev, v], [] as string[])
    .addOption(dataDirOption())
    .action(async (o) => {
      const { runWorkerCommand } = await import('./cli/worker.ts');
      setCode(await runWorkerCommand(o, io, (startQueue) => openCore(o.dataDir, io, 'cli', startQueue, 'embedded')));
    });

  return program;
}

/** Runs the CLI; returns the process exit code. */
export async function main(argv: string[], io: CliIO = { out: process.stdout, err: process.stderr }): Promise<number> {
  let code = 0;
  const program = buildProgram(io, (c) => {
    code = c;
  });
  if (argv.length <= 2) {
    program.outputHelp();
    return 0;
  }
  if (argv[2] === '--licenses') {
    const [{ licensesText }, { appRoot }] = await Promise.all([import('./cli/licenses.ts'), import('./app-root.ts')]);
    io.out.write(await licensesText(appRoot()));
    return 0;
  }
  try {
    await program.parseAsync(argv);
    return code;
  } catch (e) {
    // InvalidArgumentError is a CommanderError: check it first. Thrown by an action, nothing printed it yet.
    if (e instanceof InvalidArgumentError) {
      io.err.write(`demix: ${e.message}\n`);
      return 2;
    }
    if (e instanceof CommanderError) return e.exitCode;
    if (isCoreError(e)) {
      io.err.write(`demix: ${e.message}\n`);
      return 1;
    }
    io.err.write(`demix: unexpected error: ${(e as Error).stack ?? String(e)}\n`);
    return 1;
  }
}

/** `demix doctor --recheck / --bench`: the GPU self-check verdicts, and one timed segment per provider. */
async function providerChecks(io: { out: { write(s: string): unknown } }, o: { recheck: boolean; bench: boolean }): Promise<void> {
  const { resolveModel } = await import('../models/registry.ts');
  const { availableProviders, providerOrder, ThreadRunner } = await import('../engine/session.ts');
  const pc = await import('../engine/provider-check.ts');
  const { manifest, weightsPath } = await resolveModel('htdemucs');
  const names = { mix: manifest.io.inputs.mix, spec: manifest.io.inputs.spec, specOut: manifest.io.outputs.spec, timeOut: manifest.io.outputs.time };
  const make = (p: 'cpu' | 'cuda' | 'dml' | 'coreml' | 'webgpu') => ThreadRunner.create(weightsPath, p, names);
  if (o.recheck) {
    const gpus = providerOrder('auto').filter((p) => p !== 'cpu');
    if (!gpus.length) io.out.write('self-check: no GPU provider available here; --device auto uses the cpu.\n');
    else {
      const r = await pc.chooseTrustedProvider(gpus, make, manifest, { recheck: true, log: (l) => io.out.write(`self-check: ${l}\n`) });
      for (const v of r.verdicts) {
        const nums = `SDR vs cpu ${v.sdrDb?.toFixed(1) ?? '?'} dB, ${v.providerMs ? (v.providerMs / 1000).toFixed(2) : '?'} s vs cpu ${v.cpuMs ? (v.cpuMs / 1000).toFixed(2) : '?'} s per segment`;
        io.out.write(`self-check: ${v.provider} ${v.trusted ? 'TRUSTED' : 'not trusted'} (${nums})${v.reason ? ` — ${v.reason}` : ''}\n`);
      }
      io.out.write(`self-check: --device auto now uses ${r.provider}\n`);
    }
  }
  if (o.bench) {
    for (const b of await pc.benchProviders(availableProviders(), make, manifest)) {
      io.out.write(b.segmentMs === null ? `bench:     ${b.provider}: ${b.error}\n` : `bench:     ${b.provider}: ${(b.segmentMs / 1000).toFixed(2)} s per ${(manifest.segment / manifest.sampleRate).toFixed(1)} s segment = ${b.realtimeFactor!.toFixed(2)}x realtime\n`);
    }
  }
}
