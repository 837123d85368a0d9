import { eq } from "drizzle-orm";
import { bugReports, outboxEmails } from "../../src/db/schema";
import { adminToken, api, db } from "../helpers";

export const validReport = {
  title: "Backup fails on databases with spaces in name",
  description: "When a database name contains spaces, the agent throws a parsing error.",
  category: "backup",
  severity: "high",
};

/** Files a report as the given subscriber and returns its id. */
export async function fileReport(token: string, overrides: Record<string, unknown> = {}): Promise<string> {
  const res = await api("/api/bugreport", { token, json: { ...validReport, ...overrides } });
  if (res.status !== 200) throw new Error(`filing a report failed: ${res.status} ${await res.text()}`);
  return (await res.json<{ bugReportId: string }>()).bugReportId;
}

/** The operator's PUT /api/admin/bugreport/{id}, with the operator token. */
export const triage = (id: string, json: unknown) =>
  api(`/api/admin/bugreport/${id}`, { method: "PUT", token: adminToken(), json });

export const storedReports = (subscriberId: string) =>
  db().select().from(bugReports).where(eq(bugReports.subscriberId, subscriberId));

export const emailsTo = (to: string) => db().select().from(outboxEmails).where(eq(outboxEmails.to, to));
