/** File-name level knowledge of audio files (content is checked by probing with ffmpeg). */
export const AUDIO_EXTENSIONS = [
  'mp3', 'wav', 'wave', 'flac', 'm4a', 'aac', 'mp4', 'ogg', 'oga', 'opus', 'aif', 'aiff', 'aifc', 'wma', 'alac', 'caf', 'webm', 'mka', 'ape', 'wv',
] as const;

const set = new Set<string>(AUDIO_EXTENSIONS);

export function looksLikeAudioName(name: string): boolean {
  const dot = name.lastIndexOf('.');
  if (dot <= 0) return false;
  return set.has(name.slice(dot + 1).toLowerCase());
}
