import { useEffect, type ReactNode } from 'react';
import type { Diagnostics } from '../../../preload/contract.ts';
import { useDemix } from '../context.tsx';
import { providerLabel } from '../format.ts';
import { Icon } from './Icon.tsx';
import { LicensesPanel } from './LicensesPanel.tsx';

/** "ffmpeg version 5.1.9-0+deb12u1 Copyright (c) …" → "5.1.9-0+deb12u1". */
export function shortVersion(v: string | null): string | null {
  if (!v) return v;
  const m = /version\s+(\S+)/i.exec(v);
  return m ? m[1] : v;
}

/** Plain-text report a user can paste into an issue. */
export function diagnosticsReport(d: Diagnostics): string {
  const lines = [
    `Demix ${d.appVersion} (contract ${d.contractVersion}, ${d.host})`,
    `Platform: ${d.platform} ${d.arch}, Node ${d.nodeVersion}${d.electronVersion ? `, Electron ${d.electronVersion}` : ''}`,
    `ffmpeg: ${d.ffmpeg.path ?? 'not found'}${d.ffmpeg.version ? ` (${d.ffmpeg.version})` : ''}${d.ffmpeg.source ? ` via ${d.ffmpeg.source}` : ''}${d.ffmpeg.error ? ` — ERROR: ${d.ffmpeg.error}` : ''}`,
    ...d.models.map((m) => `Model ${m.id} (${m.name}): ${m.stems.join(', ')}, ${m.sampleRate} Hz, weights ${m.weightsPath ?? 'missing'}, checksum ${m.checksum}`),
    `Execution providers: available ${d.providers.available.join(', ') || 'none'}; in use ${d.providers.inUse.join(', ') || 'none yet'}${(d.providers.fallbackReasons ?? []).map((r) => `; fallback: ${r}`).join('')}`,
    ...(d.workers ? [`Workers: ${d.workers.workers} at once (concurrency ${d.workers.concurrency}), ${d.workers.threadsPerWorker} threads each on ${d.workers.cores} cores${d.workers.note ? ` — ${d.workers.note}` : ''}`] : []),
    `Data folder: ${d.dataDir}`,
    `Database: ${d.databasePath}`,
  ];
  return lines.join('\n');
}

async function copyText(text: string): Promise<void> {
  try {
    await navigator.clipboard.writeText(text);
    return;
  } catch {
    // Fallback for pages where the async clipboard is not allowed.
    const ta = document.createElement('textarea');
    ta.value = text;
    ta.style.position = 'fixed';
    ta.style.opacity = '0';
    document.body.appendChild(ta);
    ta.select();
    const ok = document.execCommand('copy');
    ta.remove();
    if (!ok) throw new Error('The clipboard is not available here; select the report text and copy it by hand.');
  }
}

export function DiagnosticsView() {
  const d = useDemix((s) => s.diagnostics);
  const load = useDemix((s) => s.loadDiagnostics);
  const toast = useDemix((s) => s.toast);

  useEffect(() => {
    void load();
  }, [load]);

  if (!d) return <div className="loading" role="status">Checking this machine…</div>;

  async function copy() {
    try {
      await copyText(diagnosticsReport(d!));
      toast({ kind: 'success', title: 'Report copied to the clipboard' });
    } catch (e) {
      toast({ kind: 'error', title: 'Could not copy', lines: [(e as Error).message] });
    }
  }

  const ffOk = !!d.ffmpeg.path && !d.ffmpeg.error;
  return (
    <section className="diagnostics" aria-labelledby="diag-title">
      <div className="section-head">
        <div>
          <h1 id="diag-title">Diagnostics</h1>
          <p className="muted">What Demix found on this machine. Attach the report when asking for help.</p>
        </div>
        <div className="section-actions">
          <button type="button" className="btn" onClick={() => void load()}>
            <Icon name="retry" size={15} /> Check again
          </button>
          <button type="button" className="btn btn-accent" onClick={() => void copy()}>
            <Icon name="copy" size={15} /> Copy report
          </button>
        </div>
      </div>
      <div className="diag-grid">
        <DiagCard title="Demix" ok>
          <Row k="App version" v={d.appVersion} />
          <Row k="Contract version" v={String(d.contractVersion)} />
          <Row k="Running in" v={d.host === 'electron' ? 'Desktop app' : 'Browser (local bridge)'} />
          <Row k="Platform" v={`${d.platform} ${d.arch}`} />
          <Row k="Node" v={d.nodeVersion} />
          {d.electronVersion && <Row k="Electron" v={d.electronVersion} />}
        </DiagCard>
        <DiagCard title="ffmpeg" ok={ffOk}>
          <Row k="Path" v={d.ffmpeg.path ?? 'not found'} mono />
          <Row k="Version" v={shortVersion(d.ffmpeg.version) ?? '—'} />
          <Row k="Found via" v={d.ffmpeg.source ?? '—'} />
          {d.ffmpeg.error && <p className="diag-error">{d.ffmpeg.error}</p>}
        </DiagCard>
        <DiagCard title="Models" ok={d.models.length > 0 && d.models.every((m) => m.checksum === 'ok' || m.checksum === 'unverified')}>
          {d.models.length === 0 && <p className="diag-error">No model found.</p>}
          {d.models.map((m) => (
            <div key={m.id} className="diag-model">
              <div className="diag-model-head">
                <b>{m.name}</b> <span className="muted">({m.id})</span>
                <span className={`badge badge-${m.checksum === 'ok' ? 'done' : m.checksum === 'unverified' ? 'queued' : 'failed'}`}>checksum {m.checksum}</span>
              </div>
              <Row k="Stems" v={m.stems.join(', ')} />
              <Row k="Weights" v={m.weightsPath ?? 'missing'} mono />
            </div>
          ))}
        </DiagCard>
        <DiagCard title="Execution providers" ok={d.providers.available.length > 0}>
          <Row k="Available" v={d.providers.available.map(providerLabel).join(', ') || 'none'} />
          <Row k="In use" v={d.providers.inUse.map(providerLabel).join(', ') || 'none yet (nothing separated)'} />
          {(d.providers.fallbackReasons ?? []).map((r) => (
            <Row key={r} k="Fallback" v={r} />
          ))}
        </DiagCard>
        {d.workers && (
          <DiagCard title="Workers" ok={!d.workers.note}>
            <Row k="At once" v={`${d.workers.workers} of concurrency ${d.workers.concurrency}, ${d.workers.threadsPerWorker} thread${d.workers.threadsPerWorker === 1 ? '' : 's'} each on ${d.workers.cores} core${d.workers.cores === 1 ? '' : 's'}`} />
            {d.workers.note && <Row k="Note" v={d.workers.note} />}
          </DiagCard>
        )}
        <DiagCard title="Storage" ok>
          <Row k="Data folder" v={d.dataDir} mono />
          <Row k="Database" v={d.databasePath} mono />
        </DiagCard>
      </div>
      <details className="report">
        <summary>Report text</summary>
        <pre aria-label="Report text">{diagnosticsReport(d)}</pre>
      </details>
      <LicensesPanel />
    </section>
  );
}

function DiagCard({ title, ok, children }: { title: string; ok: boolean; children: ReactNode }) {
  return (
    <section className="card diag-card" aria-label={title}>
      <h2 className="card-title">
        <span className={`dot ${ok ? 'dot-ok' : 'dot-bad'}`} aria-label={ok ? 'OK' : 'Problem'} role="img" />
        {title}
      </h2>
      <dl>{children}</dl>
    </section>
  );
}

function Row({ k, v, mono }: { k: string; v: string; mono?: boolean }) {
  return (
    <div className="diag-row">
      <dt>{k}</dt>
      <dd className={mono ? 'mono' : undefined} title={v}>
        {v}
      </dd>
    </div>
  );
}
