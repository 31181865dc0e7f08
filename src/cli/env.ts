import type { Command } from 'commander';

/** Placeholder until the `env` command lands; registers nothing. */
export function register(_program: Command): void {}
