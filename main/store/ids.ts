import { randomBytes } from 'node:crypto';

let lastMs = 0;
let counter = 0;

/** Time-sortable ids: `<ms base36 padded><counter><random>` (ties in created_at sort by id). */
export function newId(prefix: string): string {
  const now = Date.now();
  if (now === lastMs) counter++;
  else {
    lastMs = now;
    counter = 0;
  }
  return `${prefix}${now.toString(36).padStart(9, '0')}${counter.toString(36).padStart(4, '0')}${randomBytes(4).toString('hex')}`;
}
