import { describe, expect, it } from "vitest";
import { BOOKMARK_HEADER, sessionStart } from "../../src/middleware/d1-session";
import { api, createSubscriber } from "../helpers";

const BOOKMARK = "0000000a-00000003-00004f6e-8b26a5a3e0f0c1d2";

/** D1 bookmarks are fixed-width hex groups: a later one compares greater. */
const later = (a: string, b: string) => a.localeCompare(b) > 0;

describe("which copy of D1 a request may read", () => {
  it("writes, sign-in flows and the agent socket's token check start on the primary", () => {
    for (const method of ["POST", "PUT", "PATCH", "DELETE"]) expect(sessionStart(method, "/api/backupjob", BOOKMARK)).toBe("first-primary");
    expect(sessionStart("POST", "/api/auth/login", undefined)).toBe("first-primary");
    expect(sessionStart("GET", "/api/auth/anything", BOOKMARK)).toBe("first-primary");
    expect(sessionStart("GET", "/api/agent/connect", undefined)).toBe("first-primary");
  });

  it("reads continue from the caller's bookmark, else from the nearest copy; a malformed bookmark is ignored", () => {
    expect(sessionStart("GET", "/api/backupjob", BOOKMARK)).toBe(BOOKMARK);
    expect(sessionStart("HEAD", "/api/backupfile", BOOKMARK)).toBe(BOOKMARK);
    expect(sessionStart("GET", "/api/backupjob", undefined)).toBe("first-unconstrained");
    expect(sessionStart("GET", "/api/backupjob", "not a bookmark; drop table")).toBe("first-unconstrained");
    expect(sessionStart("GET", "/api/backupjob", "a".repeat(300))).toBe("first-unconstrained");
  });
});

describe("the x-d1-bookmark header", () => {
  it("a write returns a bookmark; a read sent with it sees the write and returns a bookmark at least as new", async () => {
    const { token } = await createSubscriber();
    const before = await api("/api/destination", { token });
    const first = before.headers.get(BOOKMARK_HEADER)!;
    expect(first).toMatch(/^[0-9a-f-]+$/);

    const created = await api("/api/destination", {
      token,
      json: { name: "Offsite", type: "LocalStorage", settings: { path: "/srv/backups" } },
      headers: { [BOOKMARK_HEADER]: first },
    });
    expect(created.status).toBe(200);
    const afterWrite = created.headers.get(BOOKMARK_HEADER)!;
    expect(later(afterWrite, first)).toBe(true);

    const read = await api("/api/destination", { token, headers: { [BOOKMARK_HEADER]: afterWrite } });
    expect(read.status).toBe(200);
    expect((await read.json<{ name: string }[]>()).map((d) => d.name)).toEqual(["Offsite"]);
    const afterRead = read.headers.get(BOOKMARK_HEADER)!;
    expect(afterRead === afterWrite || later(afterRead, afterWrite)).toBe(true);
  });

  it("public and error responses carry it too; a malformed one sent is not echoed", async () => {
    const health = await api("/api/health", { headers: { [BOOKMARK_HEADER]: "bogus!" } });
    expect(health.headers.get(BOOKMARK_HEADER)).toMatch(/^[0-9a-f-]+$/);
    const notFound = await api(`/api/backupjob/${crypto.randomUUID()}`, { token: (await createSubscriber()).token });
    expect(notFound.status).toBe(404);
    expect(notFound.headers.get(BOOKMARK_HEADER)).toMatch(/^[0-9a-f-]+$/);
  });
});
