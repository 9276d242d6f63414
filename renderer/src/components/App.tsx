import { useEffect, useRef, useState } from 'react';
import { useApi, useApp, useDemix } from '../context.tsx';
import { Icon } from './Icon.tsx';
import { QueueView } from './QueueView.tsx';
import { PlayerView } from './PlayerView.tsx';
import { SettingsView } from './SettingsView.tsx';
import { DiagnosticsView } from './DiagnosticsView.tsx';
import { Toasts } from './Toasts.tsx';
import { errorMessage } from '../state/store.ts';
import { connection } from '../state/connection.ts';
import { canUpload, droppedFiles } from '../state/uploads.ts';
import { useStore } from 'zustand';

export function App() {
  const { store, mock } = useApp();
  const api = useApi();
  const view = useDemix((s) => s.view);
  const connected = useStore(connection, (s) => s.connected);
  const [dragging, setDragging] = useState(false);
  const depth = useRef(0);

  useEffect(() => {
    let stop: (() => void) | undefined;
    let cancelled = false;
    store
      .getState()
      .start()
      .then((off) => (cancelled ? off() : (stop = off)))
      .catch((e) => store.getState().toast({ kind: 'error', title: 'Could not load the queue', lines: [errorMessage(e)] }, 0));
    void store.getState().loadSettings();
    return () => {
      cancelled = true;
      stop?.();
    };
  }, [store]);

  // Files or folders dropped anywhere on the window go to the queue.
  useEffect(() => {
    const hasFiles = (e: DragEvent) => Array.from(e.dataTransfer?.types ?? []).includes('Files');
    const onEnter = (e: DragEvent) => {
      if (!hasFiles(e)) return;
      e.preventDefault();
      depth.current += 1;
      setDragging(true);
    };
    const onOver = (e: DragEvent) => {
      if (!hasFiles(e)) return;
      e.preventDefault();
      if (e.dataTransfer) e.dataTransfer.dropEffect = 'copy';
    };
    const onLeave = (e: DragEvent) => {
      if (!hasFiles(e)) return;
      depth.current = Math.max(0, depth.current - 1);
      if (depth.current === 0) setDragging(false);
    };
    const onDrop = (e: DragEvent) => {
      if (!hasFiles(e)) return;
      e.preventDefault();
      depth.current = 0;
      setDragging(false);
      if (canUpload(api) && e.dataTransfer) {
        // The browser hides paths: upload the files (folders keep their relative paths).
        droppedFiles(e.dataTransfer)
          .then((items) => (items.length ? store.getState().uploadFiles(items) : null))
          .catch((err) => store.getState().toast({ kind: 'error', title: 'Could not read the dropped files', lines: [errorMessage(err)] }));
        return;
      }
      const files = Array.from(e.dataTransfer?.files ?? []);
      const paths = files.map((f) => api.pathForFile(f)).filter((p): p is string => !!p);
      if (paths.length > 0) {
        store.getState().navigate({ name: 'queue' });
        void store.getState().addPaths(paths);
      }
      if (paths.length < files.length) {
        store.getState().toast({
          kind: 'info',
          title: 'The browser keeps file locations private',
          lines: ['Paste the file or folder path into “Add by path” instead (or use the desktop app, where dropping works).'],
        });
      }
    };
    window.addEventListener('dragenter', onEnter);
    window.addEventListener('dragover', onOver);
    window.addEventListener('dragleave', onLeave);
    window.addEventListener('drop', onDrop);
    return () => {
      window.removeEventListener('dragenter', onEnter);
      window.removeEventListener('dragover', onOver);
      window.removeEventListener('dragleave', onLeave);
      window.removeEventListener('drop', onDrop);
    };
  }, [api, store]);

  return (
    <div className="app" data-dragging={dragging || undefined}>
      <TopBar />
      {mock && (
        <div className="mock-banner" role="note">
          Demo mode (<code>?mock=1</code>): a simulated engine with synthetic audio, for development only.
        </div>
      )}
      {!connected && (
        <div className="offline-banner" role="alert">
          Lost the connection to Demix — reconnecting… (is <code>demix serve</code> still running?)
        </div>
      )}
      <main className="main" id="main">
        {view.name === 'queue' && <QueueView />}
        {view.name === 'player' && <PlayerView key={view.jobId} jobId={view.jobId} />}
        {view.name === 'settings' && <SettingsView />}
        {view.name === 'diagnostics' && <DiagnosticsView />}
      </main>
      <Toasts />
      {dragging && (
        <div className="drop-overlay" aria-hidden="true">
          <div className="drop-overlay-card">
            <Icon name="upload" size={40} />
            <div className="drop-overlay-title">Drop to separate</div>
            <div className="drop-overlay-sub">Songs and whole folders are added to the queue</div>
          </div>
        </div>
      )}
    </div>
  );
}

function TopBar() {
  const view = useDemix((s) => s.view);
  const navigate = useDemix((s) => s.navigate);
  const queue = useDemix((s) => s.queue);
  const pauseAll = useDemix((s) => s.pauseAll);
  const resumeAll = useDemix((s) => s.resumeAll);
  const active = (queue?.queued ?? 0) + (queue?.running ?? 0);
  const tab = view.name === 'player' ? 'queue' : view.name;
  const tabs: { id: 'queue' | 'settings' | 'diagnostics'; label: string; icon: string }[] = [
    { id: 'queue', label: 'Queue', icon: 'list' },
    { id: 'settings', label: 'Settings', icon: 'settings' },
    { id: 'diagnostics', label: 'Diagnostics', icon: 'pulse' },
  ];
  return (
    <header className="topbar">
      <div className="brand">
        <span className="brand-mark">
          <Icon name="logo" size={20} />
        </span>
        <span className="brand-name">Demix</span>
      </div>
      <nav className="tabs" aria-label="Screens">
        {tabs.map((t) => (
          <button
            key={t.id}
            type="button"
            className="tab"
            aria-current={tab === t.id ? 'page' : undefined}
            onClick={() => navigate({ name: t.id })}
          >
            <Icon name={t.icon} size={16} />
            <span>{t.label}</span>
            {t.id === 'queue' && active > 0 && <span className="tab-count" aria-label={`${active} active`}>{active}</span>}
          </button>
        ))}
      </nav>
      <div className="topbar-right">
        {queue && queue.overallProgress != null && (
          <div className="overall" title="Whole queue">
            <div className="overall-bar" role="progressbar" aria-label="Whole queue" aria-valuemin={0} aria-valuemax={100} aria-valuenow={Math.round(queue.overallProgress * 100)}>
              <div style={{ width: `${queue.overallProgress * 100}%` }} />
            </div>
            <span>{Math.round(queue.overallProgress * 100)}%</span>
          </div>
        )}
        {queue && (
          <button
            type="button"
            className={`btn btn-sm ${queue.paused ? 'btn-accent' : ''}`}
            onClick={() => void (queue.paused ? resumeAll() : pauseAll())}
            aria-label={queue.paused ? 'Resume all' : 'Pause all'}
            title={queue.paused ? 'Resume the queue' : 'Finish the running songs, then wait'}
          >
            <Icon name={queue.paused ? 'play' : 'pause'} size={14} />
            <span>{queue.paused ? 'Resume all' : 'Pause all'}</span>
          </button>
        )}
      </div>
    </header>
  );
}
