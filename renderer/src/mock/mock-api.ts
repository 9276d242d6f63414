/**
 * DEV/TEST DOUBLE enabled with `?mock=1`: the in-memory fake of main, plus a timer that walks
 * jobs through queued → running → done like the engine would, and synthetic audio so the
 * player can be tried without a model. Never used unless the URL asks for it.
 * `?mock=1&seed=1` starts with a few jobs in every state (for screenshots).
 */
import { createFakeApi, finishJob, type FakeApi } from '../testing/fake-api.ts';

const STEMS = ['drums', 'bass', 'other', 'vocals'];
const SR = 22050;
const DURATION = 12;

function wavBlob(samples: Float32Array, sampleRate: number): Blob {
  const buf = new ArrayBuffer(44 + samples.length * 2);
  const v = new DataView(buf);
  const w = (o: number, s: string) => [...s].forEach((c, i) => v.setUint8(o + i, c.charCodeAt(0)));
  w(0, 'RIFF');
  v.setUint32(4, 36 + samples.length * 2, true);
  w(8, 'WAVE');
  w(12, 'fmt ');
  v.setUint32(16, 16, true);
  v.setUint16(20, 1, true);
  v.setUint16(22, 1, true);
  v.setUint32(24, sampleRate, true);
  v.setUint32(28, sampleRate * 2, true);
  v.setUint16(32, 2, true);
  v.setUint16(34, 16, true);
  w(36, 'data');
  v.setUint32(40, samples.length * 2, true);
  for (let i = 0; i < samples.length; i++) v.setInt16(44 + i * 2, Math.max(-1, Math.min(1, samples[i])) * 32767, true);
  return new Blob([buf], { type: 'audio/wav' });
}

function synth(stem: string): Float32Array {
  const n = SR * DURATION;
  const out = new Float32Array(n);
  let seed = 1;
  const rnd = () => ((seed = (seed * 16807) % 2147483647) / 2147483647) * 2 - 1;
  for (let i = 0; i < n; i++) {
    const t = i / SR;
    const beat = t % 0.5;
    switch (stem) {
      case 'drums':
        out[i] = (beat < 0.12 ? Math.exp(-beat * 30) * Math.sin(2 * Math.PI * 60 * beat) : 0) * 0.8 + (t % 0.25 < 0.03 ? rnd() * 0.2 : 0);
        break;
      case 'bass':
        out[i] = 0.35 * Math.sin(2 * Math.PI * [55, 55, 73.4, 65.4][Math.floor(t / 2) % 4] * t);
        break;
      case 'other':
        out[i] = 0.08 * (Math.sin(2 * Math.PI * 261.6 * t) + Math.sin(2 * Math.PI * 329.6 * t) + Math.sin(2 * Math.PI * 392 * t));
        break;
      case 'vocals':
        out[i] = (Math.floor(t) % 4 < 3 ? 0.25 : 0) * Math.sin(2 * Math.PI * (440 + 6 * Math.sin(2 * Math.PI * 5 * t)) * t);
        break;
    }
  }
  return out;
}

export async function createMockApi(search = ''): Promise<FakeApi> {
  const api = createFakeApi({ host: 'web' });
  const urls = new Map<string, string>();
  const parts = STEMS.map((s) => synth(s));
  const mix = new Float32Array(parts[0].length);
  for (const p of parts) for (let i = 0; i < p.length; i++) mix[i] += p[i];
  STEMS.forEach((s, i) => urls.set(s, URL.createObjectURL(wavBlob(parts[i], SR))));
  urls.set('mix', URL.createObjectURL(wavBlob(mix, SR)));
  api.mediaUrl = (_jobId, stem) => urls.get(stem) ?? urls.get('mix')!;
  api.folders.set('/home/musician/Music/Album', ['01 Opening.flac', '02 Night Drive.mp3', 'cover.jpg']);

  const tick = () => {
    if (api.paused) return;
    const all = [...api.jobs.values()];
    let running = all.filter((j) => j.status === 'running');
    const queued = all.filter((j) => j.status === 'queued').sort((a, b) => b.priority - a.priority || a.createdAt - b.createdAt);
    while (running.length < api.settings.concurrency && queued.length) {
      const j = queued.shift()!;
      running = [...running, api.patchJob(j.id, { status: 'running', startedAt: Date.now(), provider: 'cpu', segmentsTotal: 4, durationSec: DURATION })];
    }
    for (const j of running) {
      const progress = Math.min(1, j.progress + 0.04);
      if (/fail/i.test(j.name) && progress > 0.4) {
        api.patchJob(j.id, { status: 'failed', finishedAt: Date.now(), etaSec: null, error: { code: 'DECODE_FAILED', message: `Could not decode “${j.name}”: the file is damaged or not really audio. Re-export it from your DAW and add it again.` } });
      } else if (progress >= 1) finishJob(api, j.id, STEMS, DURATION);
      else api.patchJob(j.id, { progress, segmentsDone: Math.floor(progress * 4), etaSec: ((1 - progress) / 0.04) * 0.3 });
    }
    api.emit('queue-state', api.queueState());
  };
  setInterval(tick, 300);

  if (new URLSearchParams(search).get('seed') === '1') {
    api.paused = true;
    await api.invoke('jobs:add-files', { paths: ['/home/musician/Music/Demo Song.flac', '/home/musician/Music/Broken fail.wav', '/home/musician/Music/Album', '/home/musician/Music/Next Up.wav'] });
    const [done, failed, a1, a2, next] = [...api.jobs.values()];
    api.patchJob(done.id, { status: 'running', startedAt: Date.now() - 9000, provider: 'cpu' });
    finishJob(api, done.id, STEMS, DURATION);
    api.patchJob(failed.id, { status: 'failed', startedAt: Date.now() - 4000, finishedAt: Date.now() - 2000, provider: 'cpu', error: { code: 'DECODE_FAILED', message: 'Could not decode “Broken fail”: the file is damaged or not really audio. Re-export it from your DAW and add it again.' } });
    api.patchJob(a1.id, { status: 'running', startedAt: Date.now() - 5000, provider: 'cpu', progress: 0.45, segmentsDone: 2, segmentsTotal: 4, etaSec: 6 });
    api.patchJob(a2.id, { status: 'queued' });
    void next;
    api.paused = false;
  }
  return api;
}
