import type { DragEvent } from 'react';
import { useApi } from '../context.tsx';
import { Icon } from './Icon.tsx';

/**
 * A handle that drags a stem (or mixdown) file out of the window: a native file drag in the
 * desktop app (api.startDrag), a Chrome "DownloadURL" drag plus a download link in the browser.
 */
export function DragOut({ jobId, stem, fileName, label, compact = false }: { jobId: string; stem: string; fileName: string; label: string; compact?: boolean }) {
  const api = useApi();
  const url = api.mediaUrl(jobId, stem);

  function onDragStart(e: DragEvent) {
    if (api.host === 'electron') {
      e.preventDefault();
      api.startDrag(jobId, stem);
      return;
    }
    const abs = new URL(url, window.location.href).href;
    const mime = /\.flac$/i.test(fileName) ? 'audio/flac' : /\.mp3$/i.test(fileName) ? 'audio/mpeg' : 'audio/wav';
    e.dataTransfer.setData('DownloadURL', `${mime}:${fileName}:${abs}`);
    e.dataTransfer.setData('text/uri-list', abs);
    e.dataTransfer.effectAllowed = 'copy';
    api.startDrag(jobId, stem);
  }

  if (api.host === 'electron') {
    return (
      <span className={`dragout ${compact ? 'icon-btn' : 'btn btn-sm'}`} draggable onDragStart={onDragStart} role="button" tabIndex={-1} aria-label={`Drag ${label} out`} title={`Drag ${fileName} into your DAW or a folder`}>
        <Icon name="drag" size={15} />
        {!compact && <span>Drag out</span>}
      </span>
    );
  }
  return (
    <a
      className={`dragout ${compact ? 'icon-btn' : 'btn btn-sm'}`}
      href={url}
      download={fileName}
      draggable
      onDragStart={onDragStart}
      aria-label={`Download ${label}`}
      title={`Download ${fileName}, or drag it into your DAW or a folder`}
    >
      <Icon name="download" size={15} />
      {!compact && <span>Download</span>}
    </a>
  );
}
