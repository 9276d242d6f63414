import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultDataDir, isPartialName, jobOutputDir, resolveDataDir, sanitizeSegment, trackName } from './paths.ts';

describe('paths', () => {
  it('default data folder per platform', () => {
    expect(defaultDataDir('linux', {}, '/home/u')).toBe('/home/u/.local/share/demix');
    expect(defaultDataDir('linux', { XDG_DATA_HOME: '/x/data' }, '/home/u')).toBe('/x/data/demix');
    expect(defaultDataDir('linux', { XDG_DATA_HOME: 'relative' }, '/home/u')).toBe('/home/u/.local/share/demix');
    expect(defaultDataDir('darwin', {}, '/Users/u')).toBe('/Users/u/Library/Application Support/Demix');
    expect(defaultDataDir('win32', { APPDATA: 'C:\\Users\\u\\AppData\\Roaming' }, 'C:\\Users\\u')).toBe('C:\\Users\\u\\AppData\\Roaming\\Demix');
  });

  it('--data-dir beats DEMIX_DATA_DIR beats the default', () => {
    expect(resolveDataDir('/flag', { DEMIX_DATA_DIR: '/env' })).toBe('/flag');
    expect(resolveDataDir(undefined, { DEMIX_DATA_DIR: '/env' })).toBe('/env');
  });

  it('output layout: <root>/<model>/[<relative dir>/]<track>', () => {
    expect(jobOutputDir('/out', 'htdemucs', '/m/Song One.mp3', null)).toBe(path.join('/out', 'htdemucs', 'Song One'));
    expect(jobOutputDir('/out', 'htdemucs', '/m/a/b/x.flac', path.join('a', 'b', 'x.flac'))).toBe(path.join('/out', 'htdemucs', 'a', 'b', 'x'));
    expect(trackName('/m/no-extension')).toBe('no-extension');
    expect(trackName('/m/archive.tar.gz')).toBe('archive.tar');
    expect(sanitizeSegment('a:b*c?')).toBe('a_b_c_');
    expect(sanitizeSegment('CON')).toBe('_CON');
    expect(sanitizeSegment('name. ')).toBe('name');
  });

  it('recognises the engine temp files', () => {
    expect(isPartialName('drums.wav.partial')).toBe(true);
    expect(isPartialName('drums.wav.raw.partial')).toBe(true);
    expect(isPartialName('drums.wav.123.partial')).toBe(true);
    expect(isPartialName('partial.wav')).toBe(false);
    expect(isPartialName('drums.wav')).toBe(false);
  });
});
