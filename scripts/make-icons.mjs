#!/usr/bin/env node
/**
 * Draws the Demix app icon (build/icon.png, 1024×1024) with no image library: a dark rounded
 * square with four coloured "stem" bars (drums, bass, other, vocals). electron-builder derives
 * the .icns/.ico/Linux sizes from it. Run: `node scripts/make-icons.mjs`.
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { deflateSync } from 'node:zlib';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function chunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(td));
  return Buffer.concat([len, td, crc]);
}

/** RGBA pixels (Uint8Array, width*height*4) → PNG bytes. */
export function encodePng(width, height, rgba) {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 6; // RGBA
  const raw = Buffer.alloc((width * 4 + 1) * height);
  for (let y = 0; y < height; y++) {
    raw[y * (width * 4 + 1)] = 0; // filter: none
    Buffer.from(rgba.buffer, rgba.byteOffset + y * width * 4, width * 4).copy(raw, y * (width * 4 + 1) + 1);
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

function roundedRectCoverage(x, y, rx, ry, rw, rh, r) {
  const cx = Math.min(Math.max(x, rx + r), rx + rw - r);
  const cy = Math.min(Math.max(y, ry + r), ry + rh - r);
  const dx = x - cx;
  const dy = y - cy;
  return dx * dx + dy * dy <= r * r && x >= rx && x <= rx + rw && y >= ry && y <= ry + rh;
}

export function drawIcon(size = 1024) {
  const s = size / 1024;
  const bg = [27, 29, 36];
  const bars = [
    { color: [255, 122, 89], w: 560 }, // drums
    { color: [255, 196, 77], w: 720 }, // bass
    { color: [94, 201, 160], w: 460 }, // other
    { color: [108, 156, 255], w: 640 }, // vocals
  ];
  const px = new Uint8Array(size * size * 4);
  const SS = 4; // supersampling per axis
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      let r = 0, g = 0, b = 0, a = 0;
      for (let sy = 0; sy < SS; sy++) {
        for (let sx = 0; sx < SS; sx++) {
          const fx = (x + (sx + 0.5) / SS) / s;
          const fy = (y + (sy + 0.5) / SS) / s;
          if (!roundedRectCoverage(fx, fy, 64, 64, 896, 896, 200)) continue;
          let c = bg;
          bars.forEach((bar, i) => {
            const top = 262 + i * 136;
            const left = 512 - bar.w / 2;
            if (roundedRectCoverage(fx, fy, left, top, bar.w, 84, 42)) c = bar.color;
          });
          r += c[0];
          g += c[1];
          b += c[2];
          a += 255;
        }
      }
      const n = SS * SS;
      const o = (y * size + x) * 4;
      const cov = a / 255;
      px[o] = cov ? Math.round(r / cov) : 0;
      px[o + 1] = cov ? Math.round(g / cov) : 0;
      px[o + 2] = cov ? Math.round(b / cov) : 0;
      px[o + 3] = Math.round(a / n);
    }
  }
  return encodePng(size, size, px);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const out = path.join(root, 'build', 'icon.png');
  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(out + '.tmp', drawIcon(1024));
  renameSync(out + '.tmp', out);
  console.log(`wrote ${path.relative(root, out)}`);
}
