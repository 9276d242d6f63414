/** Types for scripts/build.mjs (imported by scripts/build.test.ts and scripts/start.mjs). */
export declare const NATIVE_EXTERNALS: string[];
export declare function buildAll(opts?: { renderer?: boolean }): Promise<void>;
