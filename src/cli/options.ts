/** Option parsers shared by the commands (and the demo), so every port and list flag behaves alike. */
import { InvalidArgumentError } from 'commander';

export function parsePort(value: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65535) throw new InvalidArgumentError('expected a port number 0-65535');
  return port;
}

export function parsePositive(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a positive number');
  return n;
}

/** For repeatable options (`--upstream-ca A --upstream-ca B`). */
export function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}
