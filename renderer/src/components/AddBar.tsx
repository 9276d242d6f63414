import { useState, type FormEvent } from 'react';
import { useApi, useDemix } from '../context.tsx';
import { Icon } from './Icon.tsx';
import { errorMessage } from '../state/store.ts';

/** "Add by path" field, plus the native file/folder pickers where the host has them (Electron). */
export function AddBar({ large = false }: { large?: boolean }) {
  const api = useApi();
  const addPaths = useDemix((s) => s.addPaths);
  const toast = useDemix((s) => s.toast);
  const [value, setValue] = useState('');
  const [busy, setBusy] = useState(false);

  async function submit(e: FormEvent) {
    e.preventDefault();
    const paths = value.split(/\r?\n/).map((p) => p.trim().replace(/^["']|["']$/g, '')).filter(Boolean);
    if (paths.length === 0) return;
    setBusy(true);
    try {
      const res = await addPaths(paths);
      if (res.added > 0 || res.rejected === 0) setValue('');
    } finally {
      setBusy(false);
    }
  }

  async function pick(folders: boolean) {
    try {
      const { paths } = await api.invoke('dialog:open-files', { folders });
      if (paths.length) await addPaths(paths);
    } catch (e) {
      toast({ kind: 'error', title: 'Could not open the file picker', lines: [errorMessage(e)] });
    }
  }

  return (
    <form className={`addbar ${large ? 'addbar-large' : ''}`} onSubmit={submit}>
      {api.host === 'electron' && (
        <div className="addbar-pickers">
          <button type="button" className="btn btn-accent" onClick={() => void pick(false)}>
            <Icon name="file" size={16} /> Add songs…
          </button>
          <button type="button" className="btn" onClick={() => void pick(true)}>
            <Icon name="folder" size={16} /> Add folder…
          </button>
        </div>
      )}
      <label className="addbar-field">
        <span className="sr-only">Add by path</span>
        <Icon name="folder" size={16} className="addbar-field-icon" />
        <input
          type="text"
          name="path"
          aria-label="Add by path"
          placeholder={api.host === 'electron' ? 'Or paste a file or folder path' : 'Paste the path of a song or a folder, e.g. /home/me/Music/song.flac'}
          value={value}
          onChange={(e) => setValue(e.target.value)}
          spellCheck={false}
          autoComplete="off"
        />
      </label>
      <button type="submit" className={`btn ${api.host === 'electron' ? '' : 'btn-accent'}`} disabled={busy || !value.trim()}>
        {busy ? 'Adding…' : 'Add'}
      </button>
    </form>
  );
}
