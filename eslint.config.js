// One lint configuration for the whole repository (compliance, appliance, web, ansible/test).
// `make lint` runs it together with `prettier --check`. Formatting is Prettier's job alone: eslint-config-prettier,
// last in the list, switches off every stylistic rule that would fight it.
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import svelte from 'eslint-plugin-svelte';
import globals from 'globals';
import tseslint from 'typescript-eslint';
import svelteConfig from './web/svelte.config.js';

const typeScriptFiles = ['**/*.ts', '**/*.svelte'];

export default tseslint.config(
  {
    // Build output and generated code (Paraglide's message runtime, SvelteKit's types, the inlang project cache).
    ignores: ['**/node_modules/', '**/dist/', '**/dist-check/', 'web/build/', 'web/.svelte-kit/', 'web/src/lib/paraglide/', 'web/project.inlang/', 'var/', 'coverage/', '.tap/'],
  },
  js.configs.recommended,
  tseslint.configs.recommended,
  svelte.configs.recommended,
  {
    languageOptions: {
      ecmaVersion: 2023,
      sourceType: 'module',
      globals: { ...globals.node },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // `_name` marks a parameter or a destructured field that is there on purpose (an interface's signature, the
      // rest of an object without one key).
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_', ignoreRestSiblings: true }],
    },
  },
  {
    // Where typescript-eslint turns prefer-const on (not in .svelte files, whose `let { … } = $props()` it would
    // misread): a `let` read by a callback before its one assignment (a request listener that answers 503 until the
    // handler is built) cannot be a `const`, the callback would meet it in its temporal dead zone.
    files: ['**/*.ts'],
    rules: { 'prefer-const': ['error', { ignoreReadBeforeAssign: true }] },
  },
  {
    // The web UI runs in the browser; its build scripts and config files run in Node (the default above).
    files: ['web/src/**/*.ts', 'web/src/**/*.svelte'],
    languageOptions: { globals: { ...globals.browser } },
    rules: {
      // resolve() prefixes SvelteKit's paths.base; the UI is always served at the origin's root (the appliance
      // serves build/ at /, paths.base is empty), and half the links flagged are API downloads, not routes.
      'svelte/no-navigation-without-resolve': 'off',
    },
  },
  {
    // Type-aware rules for the defects a type checker alone lets through: a promise nobody awaits or catches (an
    // unhandled rejection ends the process), a promise where a callback's result is ignored, awaiting a non-promise.
    // Only these, so the lint stays cheap enough for `make test`.
    files: typeScriptFiles,
    languageOptions: {
      parserOptions: {
        projectService: true,
        tsconfigRootDir: import.meta.dirname,
        extraFileExtensions: ['.svelte'],
      },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          // tap queues subtests itself and reports a failing one; its tests are not awaited by design.
          allowForKnownSafeCalls: [{ from: 'package', package: '@tapjs/test', name: ['test', 'todo', 'skip'] }],
        },
      ],
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
    },
  },
  {
    files: ['**/*.svelte', '**/*.svelte.ts'],
    languageOptions: {
      parserOptions: {
        parser: tseslint.parser,
        svelteConfig,
      },
    },
  },
  svelte.configs.prettier,
  prettier,
);
