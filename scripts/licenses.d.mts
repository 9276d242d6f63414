/** Types for scripts/licenses.mjs. */
export declare const PERMISSIVE: Set<string>;
export declare const COPYLEFT: RegExp;
export declare const EXCEPTIONS: Record<string, { license: string; why: string }>;
export declare function licenseOf(manifest: Record<string, unknown>): string;
export declare function judgeLicense(name: string, license: string): { ok: true; exception?: string } | { ok: false; problem: string };
export interface ProductionPackage {
  name: string;
  version: string;
  license: string;
  dir: string;
  homepage: string;
}
export declare function productionPackages(root: string): { packages: ProductionPackage[]; missing: string[] };
export declare function checkLicenses(root: string): string[];
export declare function renderNotices(root: string): string;
