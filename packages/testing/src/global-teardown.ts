/** Jest globalTeardown: stop only what globalSetup started. */
export default async function globalTeardown(): Promise<void> {
  await globalThis.__SLUICE_INFRA__?.stop();
}
