// Flat, type-checked config. The pure cores must not import Nest, Kafka or Redis, nor read
// files or open sockets: that is what keeps them unit-testable and the services thin.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const ioMessage =
  'Cores do no file or socket I/O: read, listen and send in an adapter and pass the data in.';

const infraPatterns = [
  {
    group: [
      '@nestjs/*',
      'kafkajs',
      'ioredis',
      '@sluice/kafka',
      '@sluice/redis',
      '@sluice/service-kit',
    ],
    message: 'Cores stay free of Nest, Kafka and Redis: put this in an adapter.',
  },
];

const coreImports = {
  paths: [
    ...['node:fs', 'fs', 'node:fs/promises', 'fs/promises', 'node:dgram', 'dgram'].map((name) => ({
      name,
      message: ioMessage,
    })),
    // isIP/isIPv4/isIPv6 are pure string checks.
    ...['node:net', 'net'].map((name) => ({
      name,
      allowImportNames: ['isIP', 'isIPv4', 'isIPv6'],
      message: ioMessage,
    })),
  ],
  patterns: infraPatterns,
};

const coreFiles = [
  'packages/*/src/core/**/*.ts',
  'services/*/src/core/**/*.ts',
  'packages/contracts/src/**/*.ts',
  'packages/config/src/**/*.ts',
  'packages/dns/src/**/*.ts',
];

export default tseslint.config(
  {
    ignores: [
      '**/dist/**',
      '**/coverage/**',
      '**/.local/**',
      '**/.baseline/**',
      '**/.current/**',
      '**/*.js',
      '**/*.cjs',
      '**/*.mjs',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: true,
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/no-extraneous-class': 'off',
    },
  },
  {
    files: coreFiles,
    rules: { 'no-restricted-imports': ['error', coreImports] },
  },
  {
    // A core's specs may read their fixtures; Nest, Kafka and Redis stay out of them too.
    files: coreFiles.map((glob) => glob.replace(/\.ts$/, '.spec.ts')),
    rules: { 'no-restricted-imports': ['error', { patterns: infraPatterns }] },
  },
  {
    files: ['**/*.spec.ts', '**/test/**/*.ts', '**/bench/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/unbound-method': 'off',
    },
  },
);
