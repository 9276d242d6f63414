import { useEffect, useRef, type ChangeEvent, type FormEvent } from 'react';
import { useApp, useDemix } from '../context.tsx';
import { Icon } from './Icon.tsx';
import { errorMessage } from '../state/store.ts';
import { canUpload, filesFromInput } from '../state/uploads.ts';

/**
 * "Add songs…" / "Add folder…" — native pickers in Electron, file inputs that upload in the
 * browser — plus the "Add by path" field (secondary in the browser).
 */
export function AddBar({ large = false }: { large?: boolean }) {
  const { api, store } = useApp();
  const addPaths = useDemix((s) => s.addPaths);
  const toast = useDemix((s) => s.toast);
  const uploadFiles = useDemix((s) => s.uploadFiles);
  const upload = canUpload(api);
  const songsInput = useRef<HTMLInputElement>(null);
  const folderInput = useRef<HTMLInputElement>(null);
  const pathInput = useRef<HTMLInputElement>(null);
  // The field's text lives in the store: the empty screen's AddBar is replaced by the queue's when
  // the first job appears, and a path typed meanwhile (or the focus) must not be lost with it.
  const { draft: value, inFlight: busy, focused } = useDemix((s) => s.addField);
  const setAddField = useDemix((s) => s.setAddField);

  // Mounted in place of a field that had the focus: take it over, caret at the end. (The old one
  // went away without a blur event, so the store still says focused.)
  const hadFocus = useRef(focused);
  useEffect(() => {
    const input = pathInput.current;
    if (!input || !hadFocus.current || input.ownerDocument.activeElement === input) return;
    input.focus();
    input.setSelectionRange(input.value.length, input.value.length);
  }, []);

  async function submit(e: FormEvent) {
    e.preventDefault();
    // The store's text, not this render's: Enter may come before the last keystroke re-rendered.
    const submitted = store.getState().addField.draft;
    const paths = submitted.split(/\r?\n/).map((p) => p.trim().replace(/^["']|["']$/g, '')).filter(Boolean);
    if (paths.length === 0) return;
    // Adds may overlap (a big folder takes a while): each submit is its own request, and the field
    // is refilled on failure only if it is still empty (never wiping a path typed meanwhile).
    setAddField((f) => ({ draft: '', inFlight: f.inFlight + 1 }));
    try {
      const res = await addPaths(paths);
      if (!(res.added > 0 || res.rejected === 0)) setAddField((f) => (f.draft === '' ? { draft: submitted } : {}));
    } finally {
      setAddField((f) => ({ inFlight: f.inFlight - 1 }));
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
          ref={pathInput}
          value={value}
          onChange={(e) => setAddField({ draft: e.target.value })}
          onFocus={() => setAddField({ focused: true })}
          onBlur={() => setAddField({ focused: false })}
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
