#!/usr/bin/env node
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { SluiceError } from '@sluice/contracts';

/** A subcommand module in ./commands exports `register(program)`; adding a file adds a command. */
export interface CommandModule {
  register(program: Command): void;
}

async function main(): Promise<void> {
  const program = new Command('sluice')
    .description('Sluice: stop random-subdomain floods against authoritative DNS.')
    .showHelpAfterError();
  const dir = join(__dirname, 'commands');
  const files = readdirSync(dir)
    .filter((f) => /\.(js|ts)$/.test(f) && !/\.(spec|d)\.ts$/.test(f) && !f.endsWith('.map'))
    .sort();
  for (const file of files) {
    const mod = (await import(join(dir, file))) as Partial<CommandModule>;
    mod.register?.(program);
  }
  await program.parseAsync(process.argv);
}

main().catch((error: unknown) => {
  const message =
    error instanceof SluiceError
      ? `${error.code}: ${error.message}`
      : error instanceof Error
        ? error.message
        : String(error);
  process.stderr.write(`sluice: ${message}\n`);
  process.exit(1);
});
