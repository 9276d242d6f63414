// postinstall's one-line reasons for a failed download (scripts/download-failure.mjs), from
// what the real install scripts print; and the repository carries its own test fixtures.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { describeFailure } from './download-failure.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const failed = (stderr: string, extra: Partial<Parameters<typeof describeFailure>[0]> = {}) => describeFailure({ stderr, stdout: '', status: 1, signal: null, error: null, timeoutMs: 60_000, ...extra });

// Captured from `node install.js` of electron 41 and ffmpeg-static 5.3 on a machine with no DNS.
const ELECTRON_OFFLINE = `RequestError: getaddrinfo ENOTFOUND github.com
    at ClientRequest.<anonymous> (/x/node_modules/got/dist/source/core/index.js:970:111)
    at Object.onceWrapper (node:events:639:26)
    at TLSSocket.socketErrorListener (node:_http_client:504:5)
    at GetAddrInfoReqWrap.onlookupall [as oncomplete] (node:dns:122:26)`;
const FFMPEG_OFFLINE = `Error: getaddrinfo ENOTFOUND github.com
    at GetAddrInfoReqWrap.onlookupall [as oncomplete] (node:dns:122:26) {
  errno: -3008,
  code: 'ENOTFOUND',
  syscall: 'getaddrinfo',
  hostname: 'github.com'
}`;

describe('postinstall download failures in words', () => {
  it('no network: names the host it could not resolve (not a stack frame or a brace)', () => {
    expect(failed(ELECTRON_OFFLINE)).toBe('no network (could not resolve github.com)');
    expect(failed(FFMPEG_OFFLINE)).toBe('no network (could not resolve github.com)');
    expect(failed('Error: getaddrinfo EAI_AGAIN objects.githubusercontent.com')).toBe('no network (could not resolve objects.githubusercontent.com)');
    expect(failed('connect ENETUNREACH 140.82.121.4:443')).toBe('no network (the download host is unreachable)');
  });

  it('HTTP errors: the status from the download host', () => {
    expect(failed('HTTPError: Response code 404 (Not Found) for https://github.com/electron/electron/releases/download/v41.7.1/x.zip')).toBe('HTTP 404 from the download host');
    expect(failed('Error: Failed to download: status code 403\n}')).toBe('HTTP 403 from the download host');
    expect(failed('GET https://example.org/ffmpeg.gz -> 503 Service Unavailable')).toBe('HTTP 503 from the download host');
  });

  it('a step that ran past its time limit', () => {
    expect(failed('', { status: null, signal: 'SIGTERM', error: { code: 'ETIMEDOUT', message: 'spawnSync /usr/bin/node ETIMEDOUT' } })).toBe('timed out after 60 s');
    expect(describeFailure({ stderr: '', stdout: '', status: null, signal: 'SIGTERM', error: null, timeoutMs: 120_000 })).toBe('timed out after 120 s');
  });

  it('other causes in words; otherwise the first line that explains something, never "}"', () => {
    expect(failed('Error: connect ECONNREFUSED 127.0.0.1:3128')).toBe('connection refused by the download host');
    expect(failed('Error: unable to verify the first certificate')).toMatch(/^TLS certificate problem/);
    expect(failed("Error: ENOSPC: no space left on device, write")).toBe('the disk is full');
    expect(failed("Error: EACCES: permission denied, open '/x/node_modules/electron/path.txt'")).toBe('permission denied writing into node_modules');
    expect(failed('Error: Generated checksum for "x.zip" did not match expected checksum.\n    at foo (x.js:1:1)\n}')).toBe('the downloaded file failed its checksum');
    expect(failed('Something odd happened\n    at foo (x.js:1:1)\n}\n')).toBe('its install script failed: Something odd happened');
    expect(failed('}\n', { status: 7 })).toBe('its install script failed (exit code 7)');
  });
});

describe('self-contained fixtures', () => {
  it('the known-answer songs live in the repository (test/fixtures/known-answer), tracked by git', () => {
    const dir = path.join(root, 'test', 'fixtures', 'known-answer');
    expect(existsSync(path.join(dir, 'README.md'))).toBe(true);
    const songs = readdirSync(dir).filter((f) => /^song\d\d$/.test(f));
    expect(songs).toEqual(['song00', 'song01', 'song02']);
    for (const s of songs) {
      for (const f of ['mixture', 'drums', 'bass', 'other', 'vocals']) {
        const file = path.join(dir, s, `${f}.flac`);
        expect(statSync(file).size, file).toBeGreaterThan(100_000);
      }
    }
    const tracked = spawnSync('git', ['ls-files', 'test/fixtures/known-answer'], { cwd: root, encoding: 'utf8' }).stdout.split('\n').filter(Boolean);
    // README + 3 songs × 5 flac files (other files beside them, such as analysis-truth.json, are extras).
    expect(tracked.filter((f) => f.endsWith('README.md') || f.endsWith('.flac'))).toHaveLength(1 + 3 * 5);
  });

  it('no test, bench, e2e or script reads fixtures from outside the repository (../shared)', () => {
    const files = spawnSync('git', ['ls-files', '*.ts', '*.tsx', '*.mjs', '*.js', '*.json', '.ci/*'], { cwd: root, encoding: 'utf8' }).stdout.split('\n').filter(Boolean);
    const offenders = files.filter((f) => f !== 'scripts/postinstall.test.ts' && existsSync(path.join(root, f)) && /\.\.\/shared\/fixtures|['"`]\.\.\/\.\.\/shared|\/work\/shared/.test(readFileSync(path.join(root, f), 'utf8')));
    expect(offenders).toEqual([]);
  });
});
