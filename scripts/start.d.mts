/** Types for scripts/start.mjs. */
export declare function electronBinary(): string | null;
