import { useEffect, useState, type FormEvent, type ReactNode } from 'react';
import type { BitDepth, ClipMode, DeviceChoice, OutputFormat, Settings } from '../../../preload/contract.ts';
import { useApi, useDemix } from '../context.tsx';
import { providerLabel, stemLabel } from '../format.ts';
import { errorMessage } from '../state/store.ts';
import { Icon } from './Icon.tsx';

/** Friendlier words for the contract's range checks. */
const FIELD_MESSAGES: Partial<Record<keyof Settings, string>> = {
  outputDir: 'Enter the folder where the stems should go.',
  concurrency: 'Choose between 1 and 8 songs at once.',
  shifts: 'Shifts go from 0 (off) to 20.',
  maxUploadBytes: 'Enter the largest upload in MiB (1 or more).',
};
const MIB = 1024 * 1024;

export function SettingsView() {
  const api = useApi();
  const settings = useDemix((s) => s.settings);
  const diagnostics = useDemix((s) => s.diagnostics);
  const loadSettings = useDemix((s) => s.loadSettings);
  const loadDiagnostics = useDemix((s) => s.loadDiagnostics);
  const save = useDemix((s) => s.saveSettings);
  const toast = useDemix((s) => s.toast);
  const [draft, setDraft] = useState<Settings | null>(settings);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [message, setMessage] = useState<string | null>(null);
  const [saving, setSaving] = useState(false);

  useEffect(() => {
    void loadSettings().then((s) => s && setDraft((d) => d ?? s));
    if (!diagnostics) void loadDiagnostics();
  }, []);

  if (!draft) return <div className="loading" role="status">Loading settings…</div>;

  const models = diagnostics?.models ?? [];
  const model = models.find((m) => m.id === draft.modelId);
  const stems = model?.stems ?? ['drums', 'bass', 'other', 'vocals'];
  const available = diagnostics?.providers.available ?? [];
  const devices: DeviceChoice[] = ['auto', ...(['cpu', 'cuda', 'dml', 'coreml', 'webgpu'] as const).filter((d) => available.includes(d) || d === draft.device)];
  const dirty = settings != null && JSON.stringify(settings) !== JSON.stringify(draft);

  function set<K extends keyof Settings>(key: K, value: Settings[K]) {
    setDraft((d) => (d ? { ...d, [key]: value } : d));
    setErrors((e) => {
      const { [key]: _gone, ...rest } = e;
      return rest;
    });
    setMessage(null);
  }

  async function submit(e: FormEvent) {
    e.preventDefault();
    if (!draft) return;
    setSaving(true);
    const res = await save(draft);
    setSaving(false);
    if (res.ok) {
      setDraft(res.settings);
      setErrors({});
      setMessage(null);
      toast({ kind: 'success', title: 'Settings saved', lines: ['New songs use them; songs already in the queue keep theirs.'] });
    } else {
      setErrors(Object.fromEntries(Object.entries(res.fieldErrors).map(([k, v]) => [k, FIELD_MESSAGES[k as keyof Settings] ?? v])));
      setMessage(res.message);
    }
  }

  async function chooseFolder() {
    try {
      const { paths } = await api.invoke('dialog:open-files', { folders: true });
      if (paths[0]) set('outputDir', paths[0]);
    } catch (e) {
      toast({ kind: 'error', title: 'Could not open the folder picker', lines: [errorMessage(e)] });
    }
  }

  return (
    <section className="settings" aria-labelledby="settings-title">
      <div className="section-head">
        <div>
          <h1 id="settings-title">Settings</h1>
          <p className="muted">Used for songs you add from now on.</p>
        </div>
      </div>
      <form onSubmit={submit} noValidate className="settings-form">
        <Card title="Output">
          <Field id="outputDir" label="Output folder" error={errors.outputDir} help="Stems go to <folder>/<model>/<song>/.">
            <div className="input-with-btn">
              <input id="outputDir" type="text" value={draft.outputDir} onChange={(e) => set('outputDir', e.target.value)} spellCheck={false} aria-invalid={!!errors.outputDir} aria-describedby="outputDir-help" />
              {api.host === 'electron' && (
                <button type="button" className="btn" onClick={() => void chooseFolder()}>
                  <Icon name="folder" size={16} /> Choose…
                </button>
              )}
            </div>
          </Field>
          <div className="field-row">
            <Field id="format" label="Format" error={errors.format}>
              <select id="format" aria-invalid={!!errors.format} value={draft.format} onChange={(e) => set('format', e.target.value as OutputFormat)}>
                <option value="wav">WAV (lossless)</option>
                <option value="flac">FLAC (lossless, smaller)</option>
                <option value="mp3">MP3 (320 kbps)</option>
              </select>
            </Field>
            <Field id="bits" label="Bit depth" error={errors.bits} help={draft.format === 'mp3' ? 'Not used for MP3.' : undefined}>
              <select id="bits" aria-invalid={!!errors.bits} value={draft.bits} onChange={(e) => set('bits', Number(e.target.value) as BitDepth)} disabled={draft.format === 'mp3'} aria-describedby="bits-help">
                <option value={16}>16-bit</option>
                <option value={24}>24-bit</option>
                <option value={32}>{draft.format === 'wav' ? '32-bit float' : '32-bit'}</option>
              </select>
            </Field>
            <Field id="clipMode" label="When stems clip" error={errors.clipMode}>
              <select id="clipMode" aria-invalid={!!errors.clipMode} value={draft.clipMode} onChange={(e) => set('clipMode', e.target.value as ClipMode)}>
                <option value="rescale">Lower the level</option>
                <option value="clamp">Clip the peaks</option>
              </select>
            </Field>
          </div>
        </Card>

        <Card title="Separation">
          <div className="field-row">
            <Field id="modelId" label="Model" error={errors.modelId}>
              <select id="modelId" aria-invalid={!!errors.modelId} value={draft.modelId} onChange={(e) => set('modelId', e.target.value)}>
                {!models.some((m) => m.id === draft.modelId) && <option value={draft.modelId}>{draft.modelId}</option>}
                {models.map((m) => (
                  <option key={m.id} value={m.id}>
                    {/stems/i.test(m.name) ? m.name : `${m.name} (${m.stems.length} stems)`}
                  </option>
                ))}
              </select>
            </Field>
            <Field id="twoStems" label="Two-stem mode" error={errors.twoStems} help="Keep one stem and everything else as a second file.">
              <select id="twoStems" aria-invalid={!!errors.twoStems} value={draft.twoStems ?? ''} onChange={(e) => set('twoStems', e.target.value || null)} aria-describedby="twoStems-help">
                <option value="">Off — all {stems.length} stems</option>
                {stems.map((s) => (
                  <option key={s} value={s}>
                    {stemLabel(s)} + everything else
                  </option>
                ))}
              </select>
            </Field>
          </div>
          <Field id="shifts" label={`Shifts: ${draft.shifts === 0 ? 'off' : draft.shifts}`} error={errors.shifts} help="Averages several slightly shifted passes: a little cleaner, but each shift costs one more full pass.">
            <input id="shifts" aria-invalid={!!errors.shifts} type="range" min={0} max={10} step={1} value={draft.shifts} onChange={(e) => set('shifts', Number(e.target.value))} aria-describedby="shifts-help" />
          </Field>
        </Card>

        <Card title="Performance">
          <div className="field-row">
            <Field id="device" label="Device" error={errors.device} help={diagnostics ? `Available here: ${available.map(providerLabel).join(', ') || 'none detected'}` : 'Checking what this machine offers…'}>
              <select id="device" aria-invalid={!!errors.device} value={draft.device} onChange={(e) => set('device', e.target.value as DeviceChoice)} aria-describedby="device-help">
                {devices.map((d) => (
                  <option key={d} value={d}>
                    {d === 'auto' ? 'Automatic (best available)' : providerLabel(d)}
                    {d !== 'auto' && !available.includes(d) ? ' — not available' : ''}
                  </option>
                ))}
              </select>
            </Field>
            <Field id="concurrency" label="Songs at once" error={errors.concurrency} help="Each needs about 4–5 GB of memory on the CPU.">
              <input id="concurrency" aria-invalid={!!errors.concurrency} type="number" min={1} max={8} step={1} value={Number.isNaN(draft.concurrency) ? '' : draft.concurrency} onChange={(e) => set('concurrency', e.target.valueAsNumber)} aria-describedby="concurrency-help" />
            </Field>
            {api.host === 'web' && (
              <Field id="maxUploadBytes" label="Largest upload (MiB)" error={errors.maxUploadBytes} help="Per file, for songs added in the browser (2048 MiB = 2 GiB).">
                <input
                  id="maxUploadBytes"
                  aria-invalid={!!errors.maxUploadBytes}
                  type="number"
                  min={1}
                  step={1}
                  value={Number.isNaN(draft.maxUploadBytes) ? '' : Math.round(draft.maxUploadBytes / MIB)}
                  onChange={(e) => set('maxUploadBytes', e.target.valueAsNumber * MIB)}
                  aria-describedby="maxUploadBytes-help"
                />
              </Field>
            )}
            <Field
              id="queueUrl"
              label="Queue"
              error={errors.queueUrl}
              help="Empty: this machine separates. A Redis address (redis://:password@host:6379) hands jobs to `demix worker` processes on any machine. Applies at the next start."
            >
              <input
                id="queueUrl"
                type="text"
                placeholder="this machine"
                value={draft.queueUrl ?? ''}
                onChange={(e) => set('queueUrl', e.target.value.trim() === '' ? null : e.target.value.trim())}
                spellCheck={false}
                aria-invalid={!!errors.queueUrl}
                aria-describedby="queueUrl-help"
              />
            </Field>
          </div>
        </Card>

        {message && (
          <p className="banner banner-error" role="alert">
            {message}
          </p>
        )}
        <div className="form-foot">
          <button type="button" className="btn btn-ghost" disabled={!dirty || saving} onClick={() => (setDraft(settings), setErrors({}), setMessage(null))}>
            Discard changes
          </button>
          <button type="submit" className="btn btn-accent" disabled={saving || !dirty}>
            {saving ? 'Saving…' : 'Save settings'}
          </button>
        </div>
      </form>
    </section>
  );
}

function Card({ title, children }: { title: string; children: ReactNode }) {
  return (
    <fieldset className="card">
      <legend className="card-title">{title}</legend>
      {children}
    </fieldset>
  );
}

function Field({ id, label, error, help, children }: { id: string; label: string; error?: string; help?: string; children: ReactNode }) {
  return (
    <div className={`field ${error ? 'field-invalid' : ''}`}>
      <label htmlFor={id} className="label">
        {label}
      </label>
      {children}
      {error ? (
        <p className="field-error" id={`${id}-help`} role="alert">
          {error}
        </p>
      ) : (
        help && (
          <p className="field-help muted" id={`${id}-help`}>
            {help}
          </p>
        )
      )}
    </div>
  );
}
