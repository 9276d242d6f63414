/**
 * The one Content Security Policy builder for the app's pages, used by Electron's `demix-app://`
 * protocol (main/electron/security.ts) and the web bridge (main/bridge/server.ts). The hosts
 * differ only in where media and live events come from.
 */
export interface CspOptions {
  /** Fallback for fetch directives not listed (Electron: 'none'; the bridge: 'self'). */
  defaultSrc: string;
  /** Sources for <audio>/<video> (stems, inputs, mixdowns). */
  media: string[];
  /** fetch/XHR/WebSocket sources (invokes, events, media probes). */
  connect: string[];
  /** Dev server pages only (Vite's inline preamble): allow inline scripts. */
  inlineScripts?: boolean;
}

export function buildCsp(o: CspOptions): string {
  return [
    `default-src ${o.defaultSrc}`,
    // 'wasm-unsafe-eval': the time-stretch worklet (signalsmith-stretch) compiles its WebAssembly;
    // it allows WebAssembly compilation only, not eval. Its module is a same-origin file, not blob:.
    o.inlineScripts ? "script-src 'self' 'wasm-unsafe-eval' 'unsafe-inline'" : "script-src 'self' 'wasm-unsafe-eval'",
    // wavesurfer injects <style> into its shadow root.
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self' data:",
    `media-src ${o.media.join(' ')}`,
    `connect-src ${o.connect.join(' ')}`,
    "worker-src 'self' blob:",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}
