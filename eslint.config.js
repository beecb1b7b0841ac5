// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { importX } from 'eslint-plugin-import-x';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';

export default tseslint.config(
  { ignores: ['**/node_modules/**', '.tmp-*/**', 'plugin-sdk/src/xds/generated/**', 'bench-results/**', '**/*.js', '**/*.mjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { 'import-x': importX },
    settings: {
      'import-x/resolver-next': [createTypeScriptImportResolver({ project: './tsconfig.json' })],
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/restrict-template-expressions': 'off',
      'import-x/no-cycle': 'error',
      // No deep imports across packages: another package is reached only through its exports map.
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['@trellis/*/src/*', '@trellis/*/src'], message: 'Import the package entry point, not its files.' },
            { group: ['**/core/src/*', '**/plugin-sdk/src/*', '**/plugins/*/src/*'], message: 'Cross-package relative imports are not allowed; import the package.' },
          ],
        },
      ],
    },
  },
  {
    // Plugins may import only the SDK (and libraries), never the core.
    files: ['plugins/**/*.ts', 'test/fixtures/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [{ name: '@trellis/core', message: 'Plugins import only @trellis/plugin-sdk.' }],
          patterns: [{ group: ['@trellis/*/src/*', '**/core/src/*', '../../../*'], message: 'Plugins import only @trellis/plugin-sdk.' }],
        },
      ],
    },
  },
  {
    files: ['**/*.test.ts', 'test/**/*.ts', 'bench/**/*.ts'],
    rules: {
      '@typescript-eslint/unbound-method': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
);
