import { useState } from 'react';

/** Where the build puts the generated notices: beside index.html (vite.config.ts). */
export const NOTICES_URL = 'third-party-notices.txt';

/**
 * Licences, at the foot of Diagnostics: Demix's own and the third-party notices generated at
 * build time from the production dependency tree (fetched from the app's own origin when opened).
 */
export function LicensesPanel() {
  const [text, setText] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);

  async function load() {
    if (text !== null) return;
    try {
      const res = await fetch(NOTICES_URL, { credentials: 'same-origin' });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      setText(await res.text());
    } catch (e) {
      setError(`The notices could not be loaded (${(e as Error).message}); \`demix --licenses\` prints them too.`);
    }
  }

  return (
    <details className="report licenses" onToggle={(e) => (e.currentTarget.open ? void load() : undefined)}>
      <summary>Licences</summary>
      <p className="muted">
        Demix is MIT-licensed. It ships ffmpeg (GPL-3.0-or-later, run as a separate program; its source is linked below),
        Electron and Chromium, ONNX Runtime and the npm packages listed below. The HTDemucs model weights are for personal
        and research use only.
      </p>
      {error && <p className="diag-error">{error}</p>}
      {text === null && !error && <p className="muted">Loading…</p>}
      {text !== null && <pre aria-label="Third-party notices">{text}</pre>}
    </details>
  );
}
