import { useEffect, useRef, useState, type FormEvent } from 'react';
import type { BitDepth, Job, OutputFormat, ResponseOf } from '../../../preload/contract.ts';
import { useApi, useDemix } from '../context.tsx';
import { mixdownPresets } from '../state/mixer.ts';
import { isBypass, usePractice } from '../player/practice-store.ts';
import { errorMessage } from '../state/store.ts';
import { formatClock, stemLabel } from '../format.ts';
import { Icon } from './Icon.tsx';
import { DragOut } from './DragOut.tsx';

/** "80 %, −2 st", "100 %, +1 st +20 c", "75 %": the player's practice settings in words. */
export function practiceLabel(tempo: number, semitones: number, cents: number): string {
  const sign = (n: number) => (n > 0 ? '+' : '\u2212');
  const parts = [`${tempo}\u00a0%`];
  if (semitones !== 0 || cents !== 0) {
    let pitch = semitones !== 0 ? `${sign(semitones)}${Math.abs(semitones)}\u00a0st` : '';
    if (cents !== 0) pitch += `${pitch ? ' ' : ''}${sign(cents)}${Math.abs(cents)}\u00a0c`;
    parts.push(pitch);
  }
  return parts.join(', ');
}

/**
 * Pick stems, format and bit depth; main mixes them into one file in the job folder. When the
 * player is at another tempo or pitch (the practice controls), the mixdown is rendered at it
 * unless the user asks for the original speed and pitch.
 */
export function ExportDialog({ job, onClose }: { job: Job; onClose(): void }) {
  const api = useApi();
  const mixer = useDemix((s) => s.mixer);
  const toast = useDemix((s) => s.toast);
  const stems = job.stems.map((s) => s.name);
  const presets = mixdownPresets(stems);
  const [chosen, setChosen] = useState<string[]>(() => presets.find((p) => p.id === 'no-vocals')?.stems ?? stems);
  const [format, setFormat] = useState<OutputFormat>(job.options.format);
  const [bits, setBits] = useState<BitDepth>(job.options.bits);
  const [useLevels, setUseLevels] = useState(false);
  const tempo = usePractice((s) => s.tempo);
  const semitones = usePractice((s) => s.semitones);
  const cents = usePractice((s) => s.cents);
  const practiced = !isBypass(tempo, semitones, cents);
  const [applyPractice, setApplyPractice] = useState(true);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [result, setResult] = useState<ResponseOf<'mixdown:export'> | null>(null);
  const dialog = useRef<HTMLDivElement>(null);

  useEffect(() => {
    const prev = document.activeElement as HTMLElement | null;
    dialog.current?.querySelector<HTMLElement>('input, button')?.focus();
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape') onClose();
      // Keep Tab inside the dialog.
      if (e.key === 'Tab' && dialog.current) {
        const items = [...dialog.current.querySelectorAll<HTMLElement>('button, input, select, a[href], [tabindex="0"]')].filter((x) => !(x as HTMLButtonElement).disabled);
        if (items.length === 0) return;
        const first = items[0];
        const last = items[items.length - 1];
        if (e.shiftKey && document.activeElement === first) {
          e.preventDefault();
          last.focus();
        } else if (!e.shiftKey && document.activeElement === last) {
          e.preventDefault();
          first.focus();
        }
      }
    };
    window.addEventListener('keydown', onKey);
    return () => {
      window.removeEventListener('keydown', onKey);
      prev?.focus?.();
    };
  }, [onClose]);

  const presetId = presets.find((p) => p.stems.length === chosen.length && p.stems.every((s) => chosen.includes(s)))?.id;

  async function submit(e: FormEvent) {
    e.preventDefault();
    if (chosen.length === 0) {
      setError('Choose at least one stem.');
      return;
    }
    setBusy(true);
    setError(null);
    setResult(null);
    try {
      const gains = useLevels ? Object.fromEntries(chosen.map((s) => [s, mixer.tracks[s]?.muted ? 0 : (mixer.tracks[s]?.volume ?? 1)])) : undefined;
      const ordered = stems.filter((s) => chosen.includes(s));
      const practice = practiced && applyPractice ? { tempo, pitch: semitones + cents / 100 } : {};
      const res = await api.invoke('mixdown:export', { id: job.id, stems: ordered, format, bits, gains, ...practice });
      setResult(res);
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <div className="modal-backdrop" onMouseDown={(e) => e.target === e.currentTarget && onClose()}>
      <div className="modal" role="dialog" aria-modal="true" aria-labelledby="export-title" ref={dialog}>
        <div className="modal-head">
          <h2 id="export-title">Export mixdown</h2>
          <button type="button" className="icon-btn" aria-label="Close" onClick={onClose}>
            <Icon name="x" size={18} />
          </button>
        </div>
        <form onSubmit={submit} className="modal-body">
          <fieldset className="field">
            <legend>Presets</legend>
            <div className="chips">
              {presets.map((p) => (
                <button key={p.id} type="button" className="chip" aria-pressed={presetId === p.id} onClick={() => setChosen(p.stems)}>
                  {p.label}
                </button>
              ))}
            </div>
          </fieldset>
          <fieldset className="field">
            <legend>Stems in the mix</legend>
            <div className="stem-checks">
              {stems.map((s) => (
                <label key={s} className="check">
                  <input
                    type="checkbox"
                    checked={chosen.includes(s)}
                    onChange={(e) => setChosen((c) => (e.target.checked ? [...c, s] : c.filter((x) => x !== s)))}
                  />
                  <span className="swatch" style={{ background: `var(--stem-${['drums', 'bass', 'other', 'vocals'].includes(s) ? s : 'other'})` }} />
                  {stemLabel(s)}
                </label>
              ))}
            </div>
          </fieldset>
          <div className="field-row">
            <label className="field">
              <span className="label">Format</span>
              <select value={format} onChange={(e) => setFormat(e.target.value as OutputFormat)} aria-label="Format">
                <option value="wav">WAV</option>
                <option value="flac">FLAC</option>
                <option value="mp3">MP3 (320 kbps)</option>
              </select>
            </label>
            <label className="field">
              <span className="label">Bit depth</span>
              <select value={bits} onChange={(e) => setBits(Number(e.target.value) as BitDepth)} disabled={format === 'mp3'} aria-label="Bit depth">
                <option value={16}>16-bit</option>
                <option value={24}>24-bit</option>
                <option value={32}>{format === 'wav' ? '32-bit float' : '32-bit'}</option>
              </select>
            </label>
          </div>
          <label className="check">
            <input type="checkbox" checked={useLevels} onChange={(e) => setUseLevels(e.target.checked)} />
            Use the player’s volume and mute settings
          </label>
          {practiced && (
            <label className="check">
              <input type="checkbox" checked={applyPractice} onChange={(e) => setApplyPractice(e.target.checked)} />
              At the player’s tempo and pitch ({practiceLabel(tempo, semitones, cents)}); untick for the original speed and pitch
            </label>
          )}
          {error && (
            <p className="banner banner-error" role="alert">
              {error}
            </p>
          )}
          {result && (
            <div className="export-result" role="status" aria-label="Exported file">
              <Icon name="check" size={18} className="c-done" />
              <div className="export-file">
                <div className="export-name">{result.name}</div>
                <div className="muted export-path" data-testid="mixdown-path" title={result.path}>
                  {result.path}
                </div>
                <div className="muted">{formatClock(result.durationSec, true)} long</div>
              </div>
              <div className="export-actions">
                {api.host === 'electron' && (
                  <button
                    type="button"
                    className="btn btn-sm"
                    onClick={() => api.invoke('shell:reveal', { path: result.path }).catch((e) => toast({ kind: 'error', title: 'Could not show the file', lines: [errorMessage(e)] }))}
                  >
                    <Icon name="reveal" size={15} /> Show in folder
                  </button>
                )}
                <DragOut jobId={job.id} stem={result.name} fileName={result.name} label="mixdown" />
              </div>
            </div>
          )}
          <div className="modal-foot">
            <button type="button" className="btn btn-ghost" onClick={onClose}>
              {result ? 'Done' : 'Cancel'}
            </button>
            <button type="submit" className="btn btn-accent" disabled={busy || chosen.length === 0}>
              {busy ? 'Exporting…' : result ? 'Export again' : 'Export'}
            </button>
          </div>
        </form>
      </div>
    </div>
  );
}
