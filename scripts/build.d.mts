/** Types for scripts/build.mjs (imported by scripts/build.test.ts and scripts/start.mjs). */
export declare const NATIVE_EXTERNALS: string[];
export declare function buildAll(opts?: { renderer?: boolean }): Promise<void>;
export declare function buildCli(): Promise<void>;
export declare function buildRenderer(): boolean;
export declare function writeNotices(): void;
export declare function setQuiet(q?: boolean): void;
