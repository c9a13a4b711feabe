// Flat, type-checked config. The pure cores must not import Nest, Kafka or Redis:
// that is what keeps them unit-testable and the services thin.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const infraImports = {
  patterns: [
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
  ],
};

export default tseslint.config(
  {
    ignores: ['**/dist/**', '**/coverage/**', '.local/**', '**/*.js', '**/*.cjs', '**/*.mjs'],
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
    files: [
      'packages/*/src/core/**/*.ts',
      'services/*/src/core/**/*.ts',
      'packages/contracts/src/**/*.ts',
      'packages/config/src/**/*.ts',
    ],
    rules: { 'no-restricted-imports': ['error', infraImports] },
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
