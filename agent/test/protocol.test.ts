import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { FULL_ONLY_CAPABILITIES, parseAgentFrame } from "../../src/protocol/agent-protocol.ts";

const engine = { engineKey: "maria", dbmsType: "MariaDb", version: "10.11", databases: [{ name: "shop" }] };
const file = { databaseId: randomUUID(), destinationId: randomUUID(), fileName: "shop_Differential_20260326_080000.tar.gz", fileSize: 10, checksum: `sha256:${"a".repeat(64)}` };
const parse = (frame: object) => parseAgentFrame(JSON.stringify(frame));

describe("protocol 1.1 fields (additive)", () => {
  it("accepts inventory engines with and without capabilities; none means Full only", () => {
    const capabilities = { backupModes: ["Full", "Differential", "TransactionLog"], restore: false };
    expect(parse({ type: "inventory", id: randomUUID(), engines: [{ ...engine, capabilities }] })).toMatchObject({ ok: true, frame: { engines: [{ capabilities }] } });
    expect(parse({ type: "inventory", id: randomUUID(), engines: [engine] })).toMatchObject({ ok: true });
    expect(FULL_ONLY_CAPABILITIES).toEqual({ backupModes: ["Full"], restore: false });
  });

  it("refuses capabilities naming an unknown mode or none", () => {
    for (const backupModes of [["Weekly"], []]) {
      const result = parse({ type: "inventory", id: randomUUID(), engines: [{ ...engine, capabilities: { backupModes, restore: true } }] });
      expect(result).toMatchObject({ ok: false, error: expect.stringContaining("Invalid inventory frame: engines.0.capabilities.backupModes") });
    }
  });

  it("accepts backup.completed files with backupMode and baseFileName, and 1.0 files without", () => {
    const completed = (files: object[]) => ({ type: "backup.completed", id: randomUUID(), backupRunId: randomUUID(), finishedUtc: "2026-03-26T08:01:00Z", files });
    const chained = { ...file, backupMode: "Differential", baseFileName: "shop_Full_20260326_020000.tar.gz" };
    expect(parse(completed([chained]))).toMatchObject({ ok: true, frame: { files: [chained] } });
    expect(parse(completed([file]))).toMatchObject({ ok: true });
    expect(parse(completed([{ ...file, backupMode: "Hourly" }]))).toMatchObject({ ok: false });
  });
});
