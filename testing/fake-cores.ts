/**
 * Test support (imported only by *.test.ts files): cores on the fake engine worker (a test double)
 * that the calling test file opens with `newCore` and that are closed after each test.
 */
import path from 'node:path';
import { afterEach } from 'vitest';
import type { Core, CoreOptions } from '../main/core.ts';
import { fakeCore, tempDir } from './test-harness.ts';

/** Registers the close-after-each-test; `cores` is the list it closes (a test may take a core off it). */
export function fakeCoresClosedAfterEach() {
  const cores: Core[] = [];
  afterEach(async () => {
    for (const c of cores.splice(0)) await c.close();
  });
  async function newCore(dataDir = path.join(tempDir(), 'data'), extra: Partial<CoreOptions> = {}): Promise<Core> {
    const c = await fakeCore(dataDir, extra);
    cores.push(c);
    return c;
  }
  return { cores, newCore };
}
