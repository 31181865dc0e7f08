/** The per-file setup every e2e suite shares: one World for the file, and the kind predicates. */
import { afterAll, beforeAll } from 'vitest';
import { startWorld, type StoredExchange, type World } from './world.js';

/** Starts a World before the file's tests and closes it after them; `use` receives it once started. */
export function useWorld(use: (world: World) => void): void {
  let world: World | undefined;
  beforeAll(async () => {
    world = await startWorld();
    use(world);
  }, 60_000);
  afterAll(async () => {
    await world?.close();
  });
}

export const isToken = (e: Pick<StoredExchange, 'oauth'>): boolean => e.oauth.kind === 'token';
export const isAuthorize = (e: Pick<StoredExchange, 'oauth'>): boolean => e.oauth.kind === 'authorize';
