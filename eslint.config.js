// Lint enforces the layer table in ../shared/ARCHITECTURE.md (imports point only downward).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';
import { importX, createNodeResolver } from 'eslint-plugin-import-x';

const nodeBuiltins = ['node:*', 'fs', 'path', 'os', 'child_process', 'worker_threads', 'crypto', 'stream', 'url', 'util', 'events', 'http', 'net'];

/** One `no-restricted-imports` rule per layer. */
function layer(files, { patterns = [], paths = [] }) {
  return {
    files,
    rules: {
      'no-restricted-imports': ['error', { paths, patterns }],
    },
  };
}

const forbid = (group, message) => ({ group, message });

export default tseslint.config(
  { ignores: ['.tmp/**', '.electron-native/**', 'node_modules/**', 'dist/**', 'release/**', 'out/**', 'drizzle/**', 'test-results/**', 'playwright-report/**', 'e2e/artifacts/**', '.bench/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'warn',
    },
  },
  // No import cycles between our modules (the rule skips `import type`; keep type cycles out by hand).
  {
    files: ['**/*.{ts,tsx,mts,mjs,js}'],
    plugins: { 'import-x': importX },
    settings: {
      'import-x/resolver-next': [createNodeResolver({ extensions: ['.ts', '.tsx', '.mts', '.mjs', '.js'] })],
      'import-x/extensions': ['.ts', '.tsx', '.mts', '.mjs', '.js'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts', '.tsx', '.mts'] },
    },
    rules: { 'import-x/no-cycle': ['error', { ignoreExternal: true }] },
  },
  {
    files: ['renderer/**/*.{ts,tsx}'],
    languageOptions: { globals: { ...globals.browser } },
  },
  // models/: node only, nothing of ours.
  layer(['models/**/*.ts'], {
    patterns: [
      forbid(['**/engine/**', '**/main/**', '**/preload/**', '**/renderer/**'], 'models/ is the bottom layer: it imports only node:*.'),
      forbid(['electron', 'better-sqlite3', 'drizzle-orm', 'drizzle-orm/*', 'onnxruntime-node'], 'models/ imports only node:*.'),
    ],
  }),
  // engine/: node, onnxruntime, models. Never electron, main, DB, renderer.
  layer(['engine/**/*.ts'], {
    patterns: [
      forbid(['**/main/**', '**/preload/**', '**/renderer/**'], 'engine/ never imports main, preload or renderer.'),
      forbid(['electron', 'better-sqlite3', 'drizzle-orm', 'drizzle-orm/*'], 'engine/ is pure Node: no Electron, no database.'),
    ],
  }),
  // preload/contract.ts: zod only.
  layer(['preload/contract.ts'], {
    patterns: [
      forbid(['**/main/**', '**/engine/**', '**/renderer/**', '**/models/**'], 'The contract imports only zod.'),
      forbid(['electron', ...nodeBuiltins], 'The contract imports only zod.'),
    ],
  }),
  layer(['preload/**/*.ts'], {
    patterns: [forbid(['**/main/**', '**/engine/**', '**/renderer/**', '**/models/**'], 'preload/ never imports main, engine or renderer.')],
  }),
  // main/ except main/electron: plain Node, never electron, never renderer.
  {
    ...layer(['main/**/*.ts'], {
      patterns: [
        forbid(['electron'], 'Only main/electron/ may import electron; keep main/ testable in plain Node.'),
        forbid(['**/renderer/**'], 'main/ never imports the renderer.'),
      ],
    }),
    ignores: ['main/electron/**'],
  },
  layer(['main/electron/**/*.ts'], {
    patterns: [forbid(['**/renderer/**'], 'main/electron never imports the renderer.')],
  }),
  // renderer/: the contract (types + schemas) and browser libraries only.
  layer(['renderer/**/*.{ts,tsx}'], {
    patterns: [
      forbid(['**/main/**', '**/engine/**', '**/models/**', '**/preload/index*'], 'The renderer talks to main only through window.demix (preload/contract).'),
      forbid(['electron', ...nodeBuiltins], 'The renderer runs in a sandboxed page: no Node, no Electron.'),
    ],
  }),
  // Test support (`*.test-support.*`) and test doubles (`*.test-double.*`) serve tests and benches only:
  // no production module imports them, so they never reach a bundle.
  {
    files: ['{engine,models,main,preload,renderer}/**/*.{ts,tsx,mts,mjs}'],
    ignores: ['**/*.test.{ts,tsx}', '**/*.test-support.{ts,tsx}', '**/*.test-double.*'],
    rules: {
      'no-restricted-syntax': [
        'error',
        ...['ImportDeclaration', 'ExportNamedDeclaration', 'ExportAllDeclaration', 'ImportExpression'].map((node) => ({
          selector: `${node}[source.value=/[.]test-(support|double)[.]/]`,
          message: 'Test support and test doubles are for tests only: production code never imports them.',
        })),
      ],
    },
  },
);
