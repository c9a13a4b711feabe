// Two tiers: `unit` (*.spec.ts beside the code, no infrastructure) and `integration`
// (test/integration/**, against the real Kafka and Redis that the global setup provides).
const swc = [
  '@swc/jest',
  {
    jsc: {
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true },
      target: 'es2022',
    },
    module: { type: 'commonjs' },
  },
];

const shared = {
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': swc },
  moduleNameMapper: {
    '^@sluice/(ingest|detector|enrichment|reputation)$': '<rootDir>/services/$1/src',
    '^@sluice/([a-z-]+)$': '<rootDir>/packages/$1/src',
  },
  modulePathIgnorePatterns: ['<rootDir>/.local/', '/dist/'],
};

/** @type {import('jest').Config} */
module.exports = {
  projects: [
    {
      ...shared,
      displayName: 'unit',
      testMatch: ['<rootDir>/{apps,packages,services}/*/src/**/*.spec.ts'],
    },
    {
      ...shared,
      displayName: 'integration',
      testMatch: [
        '<rootDir>/{packages,services}/*/test/integration/**/*.test.ts',
        '<rootDir>/test/integration/**/*.test.ts',
      ],
      globalSetup: '<rootDir>/packages/testing/src/global-setup.ts',
      globalTeardown: '<rootDir>/packages/testing/src/global-teardown.ts',
      setupFilesAfterEnv: ['<rootDir>/packages/testing/src/integration-setup.ts'],
    },
  ],
};
