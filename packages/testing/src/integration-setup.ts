// Jest 30 ignores a per-project testTimeout; integration tests talk to real brokers and
// nameservers, so they get a generous one here (the integration project's setupFilesAfterEnv).
jest.setTimeout(120_000);
