// Lint rules (`npm run lint`): typescript-eslint's recommended set, with the project's conventions.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const nodeGlobals = {
  require: 'readonly',
  module: 'writable',
  process: 'readonly',
  __dirname: 'readonly',
  console: 'readonly',
};

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'native/build/', 'coverage/', 'runs/', '.tmp/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      // a leading underscore marks a binding kept on purpose (rest-destructuring that drops keys, unused parameters)
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' },
      ],
      // initial values that a try block overwrites are how TypeScript sees them assigned on every path
      'no-useless-assignment': 'off',
      'max-len': ['error', { code: 120, ignoreUrls: true }],
    },
  },
  {
    // package.json, os and child processes loaded where they are used (specs, the bench, the version line)
    files: ['cli/main.ts', 'bench/bench.ts', 'spec/**/*.ts'],
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    // specs strip the terminal's escape sequences from captured output
    files: ['spec/**/*.ts'],
    rules: { 'no-control-regex': 'off' },
  },
  {
    files: ['**/*.js', '**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: nodeGlobals },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
