import { useRef, useState, type ChangeEvent, type FormEvent } from 'react';
import { useApi, useDemix } from '../context.tsx';
import { Icon } from './Icon.tsx';
import { errorMessage } from '../state/store.ts';
import { canUpload, filesFromInput } from '../state/uploads.ts';

/**
 * "Add songs…" / "Add folder…" — native pickers in Electron, file inputs that upload in the
 * browser — plus the "Add by path" field (secondary in the browser).
 */
export function AddBar({ large = false }: { large?: boolean }) {
  const api = useApi();
  const addPaths = useDemix((s) => s.addPaths);
  const toast = useDemix((s) => s.toast);
  const uploadFiles = useDemix((s) => s.uploadFiles);
  const upload = canUpload(api);
  const songsInput = useRef<HTMLInputElement>(null);
  const folderInput = useRef<HTMLInputElement>(null);
  const [value, setValue] = useState('');
  const [busy, setBusy] = useState(0);

  async function submit(e: FormEvent) {
    e.preventDefault();
    const paths = value.split(/\r?\n/).map((p) => p.trim().replace(/^["']|["']$/g, '')).filter(Boolean);
    if (paths.length === 0) return;
    // Adds may overlap (a big folder takes a while): each submit is its own request, and the field
    // is cleared only if it still shows what was submitted (never wiping a path typed meanwhile).
    const submitted = value;
    setValue('');
    setBusy((n) => n + 1);
    try {
      const res = await addPaths(paths);
      if (!(res.added > 0 || res.rejected === 0)) setValue((v) => (v === '' ? submitted : v));
    } finally {
      setBusy((n) => n - 1);
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

  function picked(e: ChangeEvent<HTMLInputElement>) {
    const files = e.target.files ? filesFromInput(e.target.files) : [];
    e.target.value = ''; // picking the same file again fires change again
    if (files.length) void uploadFiles(files);
  }

  return (
    <form className={`addbar ${large ? 'addbar-large' : ''} ${upload ? 'addbar-upload' : ''}`} onSubmit={submit}>
      {upload && (
        <div className="addbar-pickers">
          <button type="button" className="btn btn-accent" onClick={() => songsInput.current?.click()}>
            <Icon name="upload" size={16} /> Add songs…
          </button>
          <button type="button" className="btn" onClick={() => folderInput.current?.click()}>
            <Icon name="folder" size={16} /> Add folder…
          </button>
          <input ref={songsInput} className="sr-only" type="file" multiple accept="audio/*" aria-label="Songs to upload" tabIndex={-1} onChange={picked} data-testid="upload-songs" />
          <input
            ref={folderInput}
            className="sr-only"
            type="file"
            multiple
            aria-label="Folder to upload"
            tabIndex={-1}
            onChange={picked}
            data-testid="upload-folder"
            {...{ webkitdirectory: '', directory: '' }}
          />
        </div>
      )}
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
          placeholder={api.host === 'electron' || upload ? 'Or paste a file or folder path' : 'Paste the path of a song or a folder, e.g. /home/me/Music/song.flac'}
          value={value}
          onChange={(e) => setValue(e.target.value)}
          spellCheck={false}
          autoComplete="off"
        />
      </label>
      {/* aria-disabled, not disabled: a form whose submit button is disabled ignores Enter in its
          field, so Enter pressed before the typed path re-rendered the button was lost (seen in e2e
          on a loaded machine); submit() ignores an empty field itself. */}
      <button type="submit" className={`btn ${api.host === 'electron' || upload ? '' : 'btn-accent'}`} aria-disabled={!value.trim()}>
        {busy > 0 && !value.trim() ? 'Adding…' : 'Add'}
      </button>
    </form>
  );
}
