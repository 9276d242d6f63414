import { describe, expect, it } from 'vitest';
import { Job as JobSchema } from '../../preload/contract.ts';
import { Bus } from '../bus.ts';
import { fmtMusic } from '../cli/format.ts';
import { JOB_OPTIONS, tempJobDatabases } from '../../testing/temp-job-db.ts';
import { decodeBeats, JobStore, optionsKey } from './job-store.ts';

const options = JOB_OPTIONS;
const openDb = tempJobDatabases();

function setup() {
  const { db, sqlite } = openDb();
  const store = new JobStore(db, new Bus());
  const [job] = store.insert(null, [
    { id: 'a00001', name: 'song.mp3', inputPath: '/m/song.mp3', modelId: 'htdemucs', options: JSON.stringify(options), optionsKey: optionsKey(options), status: 'queued', createdAt: 1, outputRoot: '/o', outputDir: '/o/htdemucs/song' },
  ]).jobs;
  return { store, sqlite, job };
}

describe('analysis on the job record (jobs.bpm, musical_key, key_confidence, beats from migration 0003)', () => {
  it('a completed job carries tempo, key, confidence, beats and downbeat through the store and the contract', () => {
    const { store, sqlite, job } = setup();
    expect(store.claimNext()?.id).toBe(job.id);
    const done = store.complete(job.id, {
      stems: [{ name: 'drums', path: '/o/htdemucs/song/drums.wav', format: 'wav', durationSec: 3 }],
      durationSec: 3,
      provider: 'cpu',
      analysis: { bpm: 92, key: 'F# major', keyConfidence: 0.35, beats: [0.652, 1.304, 1.957], downbeat: 1.304 },
    })!;
    expect(JobSchema.parse(done)).toEqual(done);
    expect(done).toMatchObject({ bpm: 92, key: 'F# major', keyConfidence: 0.35, beats: [0.652, 1.304, 1.957], downbeat: 1.304 });
    // the migration's columns hold them
    const raw = sqlite.prepare('select bpm, musical_key, key_confidence, beats from jobs where id = ?').get(job.id) as Record<string, unknown>;
    expect(raw).toEqual({ bpm: 92, musical_key: 'F# major', key_confidence: 0.35, beats: '{"t":[0.652,1.304,1.957],"d":1.304}' });
    // and listing (what `demix jobs --json` prints) has them too
    expect(store.list({ limit: 10, offset: 0 }).jobs[0]).toMatchObject({ bpm: 92, key: 'F# major', keyConfidence: 0.35, beats: [0.652, 1.304, 1.957] });
    expect(fmtMusic(done)).toBe('92 BPM  F# major');
  });

  it('a job without analysis (none yet, or no pulse/pitch) maps to nulls that satisfy the contract', () => {
    const { store, job } = setup();
    expect(JobSchema.parse(store.get(job.id))).toMatchObject({ bpm: null, key: null, keyConfidence: null, beats: null, downbeat: null });
    store.claimNext();
    const done = store.complete(job.id, { stems: [], durationSec: 1, provider: 'cpu', analysis: { bpm: null, key: null, keyConfidence: null, beats: [], downbeat: null } })!;
    expect(JobSchema.parse(done)).toMatchObject({ bpm: null, key: null, beats: null });
    expect(fmtMusic(done)).toBe('');
  });

  it('a damaged beats column reads as no grid instead of failing the whole job list', () => {
    expect(decodeBeats('not json')).toBeNull();
    expect(decodeBeats('{"t":[1,"x"]}')).toBeNull();
    expect(decodeBeats('{"t":[-1]}')).toBeNull();
    expect(decodeBeats('{"t":[0.5,1],"d":"?"}')).toEqual({ beats: [0.5, 1], downbeat: null });
  });
});
