/** Types for scripts/freshness.mjs. */
export declare function newestMtime(paths: string[]): number;
export declare const CLI_BUNDLE: string;
export declare const CLI_INPUTS: string;
export declare function cliBundleProblem(root: string): string | null;
export declare const RENDERER_INPUTS: string[];
export declare function rendererProblem(root: string, outDir?: string): string | null;
