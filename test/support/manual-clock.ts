import { afterEach } from "vitest";
import { setClock } from "../../src/lib/clock";

export const T0 = Date.parse("2026-11-27T12:00:00Z");

/**
 * The injected clock, moved by hand: `time.freezeAt(T0)` stops it, `time.now = T0 + 59_000` moves it.
 * Importing this file resets the real clock after each test.
 */
export const time = {
  now: T0,
  freezeAt(ms: number) {
    time.now = ms;
    setClock(() => time.now);
  },
};

afterEach(() => setClock(null));
