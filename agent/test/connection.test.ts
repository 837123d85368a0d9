import { describe, expect, it } from "vitest";
import { apiUrl, backoffDelay, connectUrl } from "../src/connection.ts";

describe("reconnect backoff", () => {
  const options = { initialMs: 1000, maxMs: 60_000 };

  it("doubles the ceiling per attempt up to the maximum, with full jitter below it", () => {
    const ceilings = [0, 1, 2, 3, 6, 7, 20].map((attempt) => backoffDelay(attempt, { ...options, random: () => 1 }));
    expect(ceilings).toEqual([1000, 2000, 4000, 8000, 60_000, 60_000, 60_000]);
    expect(backoffDelay(3, { ...options, random: () => 0 })).toBe(0);
    expect(backoffDelay(3, { ...options, random: () => 0.25 })).toBe(2000);
  });

  it("spreads agents that lost the platform together over the whole window", () => {
    const delays = Array.from({ length: 200 }, () => backoffDelay(4, { ...options, random: Math.random }));
    expect(Math.min(...delays)).toBeLessThan(4000);
    expect(Math.max(...delays)).toBeGreaterThan(12_000);
    expect(Math.max(...delays)).toBeLessThanOrEqual(16_000);
  });
});

describe("platform URLs", () => {
  it("builds the socket URL from the server URL, keeping a base path", () => {
    expect(connectUrl("https://api.data-sync.co.uk")).toBe("wss://api.data-sync.co.uk/api/agent/connect");
    expect(connectUrl("http://127.0.0.1:8787/")).toBe("ws://127.0.0.1:8787/api/agent/connect");
    expect(apiUrl("https://example.com/datasync", "/api/agent/register").toString()).toBe("https://example.com/datasync/api/agent/register");
  });
});
