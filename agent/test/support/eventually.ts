/** Polls `probe` every 500 ms until it returns a value; on timeout the error adds `context()` (e.g. the agent's output). */
export async function eventually<T>(probe: () => Promise<T | undefined>, what: string, context: () => string, timeoutMs = 90_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}. ${context()}`);
    await new Promise((done) => setTimeout(done, 500));
  }
}
