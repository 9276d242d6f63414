/**
 * Settings, stored one key per row and validated with the contract's Settings schema: a value
 * that no longer validates (older version, hand edit) falls back to its default.
 */
import { DEFAULT_MAX_UPLOAD_BYTES, JobOptions, Settings, formatIssues } from '../preload/contract.ts';
import { CoreError } from './core-error.ts';
import type { Db } from './store/db.ts';
import { settings as settingsTable } from './store/schema.ts';
import { defaultOutputDir } from './paths.ts';

export function defaultSettings(): Settings {
  return {
    outputDir: defaultOutputDir(),
    // modelId, format, bits, clipMode, twoStems, shifts, device: the contract's job option defaults
    ...JobOptions.parse({}),
    // Each worker holds one model session (~4-5 GB on CPU) and uses every core: one at a time.
    concurrency: 1,
    queueUrl: null,
    maxUploadBytes: DEFAULT_MAX_UPLOAD_BYTES,
  };
}

export class SettingsStore {
  constructor(
    private readonly db: Db,
    private readonly onChange: (s: Settings) => void = () => {},
  ) {}

  private cache: { at: number; value: Settings } | null = null;

  /** Current settings (cached for a second: the queue reads them on every claim; another process may change them). */
  get(): Settings {
    const now = Date.now();
    if (this.cache && now - this.cache.at < 1000) return { ...this.cache.value };
    const value = this.read();
    this.cache = { at: now, value };
    return { ...value };
  }

  private read(): Settings {
    const out: Record<string, unknown> = { ...defaultSettings() };
    const shape = Settings.shape as Record<string, { safeParse(v: unknown): { success: boolean; data?: unknown } }>;
    for (const row of this.db.select().from(settingsTable).all()) {
      const field = shape[row.key];
      if (!field) continue;
      let value: unknown;
      try {
        value = JSON.parse(row.value);
      } catch {
        continue;
      }
      const parsed = field.safeParse(value);
      if (parsed.success) out[row.key] = parsed.data;
    }
    return Settings.parse(out);
  }

  set(patch: Partial<Settings>): Settings {
    const parsedPatch = Settings.partial().strict().safeParse(patch);
    if (!parsedPatch.success) throw new CoreError('BAD_REQUEST', `Invalid settings: ${formatIssues(parsedPatch.error)}`);
    const merged = Settings.safeParse({ ...this.get(), ...parsedPatch.data });
    if (!merged.success) throw new CoreError('BAD_REQUEST', `Invalid settings: ${formatIssues(merged.error)}`);
    this.db.transaction((tx) => {
      for (const [key, value] of Object.entries(parsedPatch.data)) {
        if (value === undefined) continue;
        tx.insert(settingsTable)
          .values({ key, value: JSON.stringify(value) })
          .onConflictDoUpdate({ target: settingsTable.key, set: { value: JSON.stringify(value) } })
          .run();
      }
    });
    this.cache = null;
    const s = this.get();
    this.onChange(s);
    return s;
  }
}
