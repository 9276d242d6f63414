/**
 * Sums the outputs of several shifted passes on disk (float32, [frame][source][channel]), so that
 * averaging `shifts` passes needs no whole-track buffer in memory.
 */
import { closeSync, openSync, readSync, rmSync, writeSync } from 'node:fs';

export class ShiftAccumulator {
  private readonly fd: number;
  private readonly buf: Float32Array;
  private readonly bytes: Uint8Array;
  private readonly views: Float32Array[][];
  private closed = false;

  constructor(
    private readonly file: string,
    private readonly sources: number,
    maxFrames: number,
  ) {
    this.fd = openSync(file, 'w+');
    this.buf = new Float32Array(maxFrames * sources * 2);
    this.bytes = new Uint8Array(this.buf.buffer);
    this.views = Array.from({ length: sources }, () => [new Float32Array(maxFrames), new Float32Array(maxFrames)]);
  }

  /**
   * Adds `n` frames of planar sources at frame `at`. On the first pass the stored values are
   * replaced; on the last pass nothing is stored and the total times `scale` is returned.
   */
  add(src: Float32Array[][], n: number, at: number, first: boolean, scale: number): Float32Array[][] {
    const S = this.sources;
    const width = S * 2;
    const len = n * width;
    const pos = at * width * 4;
    if (first) this.buf.fill(0, 0, len);
    else {
      let got = 0;
      while (got < len * 4) {
        const r = readSync(this.fd, this.bytes, got, len * 4 - got, pos + got);
        if (r <= 0) throw new Error('internal: shift accumulator is shorter than the pass');
        got += r;
      }
    }
    for (let s = 0; s < S; s++)
      for (let c = 0; c < 2; c++) {
        const x = src[s][c];
        for (let t = 0; t < n; t++) this.buf[t * width + 2 * s + c] += x[t];
      }
    if (scale !== 1) {
      for (let s = 0; s < S; s++)
        for (let c = 0; c < 2; c++) {
          const v = this.views[s][c];
          for (let t = 0; t < n; t++) v[t] = this.buf[t * width + 2 * s + c] * scale;
        }
      return this.views.map(([l, r]) => [l.subarray(0, n), r.subarray(0, n)]);
    }
    let off = 0;
    while (off < len * 4) off += writeSync(this.fd, this.bytes, off, len * 4 - off, pos + off);
    return src;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    closeSync(this.fd);
    rmSync(this.file, { force: true });
  }
}
