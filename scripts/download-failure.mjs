/**
 * Turns what a failed download step printed (electron's, ffmpeg-static's or onnxruntime-node's
 * install script) into a reason in words for scripts/postinstall.mjs: "no network (could not
 * resolve github.com)", "HTTP 404 from the download host", "timed out after 60 s"… rather than
 * the last line of a stack trace or a lone brace.
 */

const NETWORK_CODES = {
  ENOTFOUND: (host) => `no network (could not resolve ${host ?? 'the download host'})`,
  EAI_AGAIN: (host) => `no network (could not resolve ${host ?? 'the download host'})`,
  ENETUNREACH: (host) => `no network (${host ?? 'the download host'} is unreachable)`,
  EHOSTUNREACH: (host) => `no network (${host ?? 'the download host'} is unreachable)`,
  ECONNREFUSED: (host) => `connection refused by ${host ?? 'the download host'}`,
  ECONNRESET: (host) => `connection to ${host ?? 'the download host'} was reset`,
  ETIMEDOUT: (host) => `connection to ${host ?? 'the download host'} timed out`,
  ESOCKETTIMEDOUT: (host) => `connection to ${host ?? 'the download host'} timed out`,
  EPROTO: (host) => `TLS handshake with ${host ?? 'the download host'} failed`,
};

const TLS = /(CERT_|UNABLE_TO_(GET|VERIFY)|SELF_SIGNED_CERT|certificate has expired|unable to verify the first certificate)/i;

/** A host name near the error code, if the output names one (`getaddrinfo ENOTFOUND github.com`). */
function hostNear(text, code) {
  const m = new RegExp(`${code}\\s+([a-z0-9.-]+\\.[a-z]{2,})`, 'i').exec(text) ?? /hostname:\s*'([^']+)'/i.exec(text) ?? /https?:\/\/([a-z0-9.-]+\.[a-z]{2,})/i.exec(text);
  return m ? m[1] : null;
}

/** A line that explains something (not a stack frame, brace, or object dump). */
function meaningfulLine(text) {
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !/^at\s/.test(l) && !/^[{}[\]()]+[,;]?$/.test(l) && !/^\w+:\s*['"\d[{]/.test(l) && !/^(node:internal|Node\.js v)/.test(l) && !/^\^+$/.test(l));
  const error = lines.find((l) => /\b(error|failed|cannot|could not|denied|not found)\b/i.test(l));
  return (error ?? lines.pop() ?? '').replace(/\s+/g, ' ').slice(0, 140);
}

/**
 * @param {{ stdout?: string, stderr?: string, error?: { code?: string, message?: string } | null, status?: number | null, signal?: string | null, timeoutMs: number }} r
 * @returns {string} the reason, in words, without a trailing period
 */
export function describeFailure(r) {
  const text = `${r.stderr ?? ''}\n${r.stdout ?? ''}\n${r.error?.message ?? ''}`;
  if (r.error?.code === 'ETIMEDOUT' || (r.signal === 'SIGTERM' && r.status === null)) return `timed out after ${Math.round(r.timeoutMs / 1000)} s`;
  if (r.error?.code === 'ENOENT') return 'could not start its install script';
  const status =
    /\b(?:HTTPError|HTTP Error|Response code|status(?:\s*code)?|statusCode)[:\s]*(\d{3})\b/i.exec(text) ?? /\bHTTP\/\d(?:\.\d)?\s+(\d{3})\b/.exec(text) ?? /\b(\d{3})\s+(?:Not Found|Forbidden|Unauthorized|Bad Gateway|Service Unavailable|Gateway Time-?out|Internal Server Error)\b/i.exec(text);
  if (status && Number(status[1]) >= 400) return `HTTP ${status[1]} from the download host`;
  for (const [code, say] of Object.entries(NETWORK_CODES)) {
    if (new RegExp(`\\b${code}\\b`).test(text)) return say(hostNear(text, code));
  }
  if (/getaddrinfo|onlookup/i.test(text)) return `no network (could not resolve ${hostNear(text, 'getaddrinfo') ?? 'the download host'})`;
  if (TLS.test(text)) return 'TLS certificate problem talking to the download host (a proxy or missing CA certificates?)';
  if (/\bENOSPC\b|no space left/i.test(text)) return 'the disk is full';
  if (/\bEACCES\b|\bEPERM\b|permission denied/i.test(text)) return 'permission denied writing into node_modules';
  if (/checksum|sha256|integrity/i.test(text) && /mismatch|(does|did) not match|failed/i.test(text)) return 'the downloaded file failed its checksum';
  const line = meaningfulLine(text);
  return line ? `its install script failed: ${line}` : `its install script failed (exit code ${r.status ?? r.signal ?? 'unknown'})`;
}
