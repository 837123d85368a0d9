/**
 * The platform's notion of "now". Tests replace it (rate windows, token expiry, retries) instead of
 * faking timers, which would also move the Durable Objects' clocks in the same isolate.
 */
let current: () => number = () => Date.now();

export const clock = {
  now: (): Date => new Date(current()),
  nowMs: (): number => current(),
};

/** Tests only: drive time by hand. Pass `null` to go back to the real clock. */
export function setClock(fn: (() => number) | null): void {
  current = fn ?? (() => Date.now());
}
