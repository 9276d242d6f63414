/** Extensions of audio files (main/scan.ts sniffs the content of files without one). */
export const AUDIO_EXTENSIONS = [
  'mp3', 'wav', 'wave', 'flac', 'm4a', 'aac', 'mp4', 'ogg', 'oga', 'opus', 'aif', 'aiff', 'aifc', 'wma', 'alac', 'caf', 'webm', 'mka', 'ape', 'wv',
] as const;

