/** Shapes shared across the agent. Protocol frames and commands come from the platform's zod module. */
import type { z } from "zod";
import type { CredentialSchema } from "../../src/protocol/agent-protocol.ts";

export type { BackupMode } from "../../src/domain/backup.ts";

export type DbmsType = "PostgreSql" | "MySql" | "MariaDb" | "Sqlite";

/** A credential as the platform sends it in `credential.upsert`. */
export type Credential = z.infer<typeof CredentialSchema>;

/** Looks up credentials received from the platform by `credentialReferenceId`. */
export interface CredentialLookup {
  get(credentialReferenceId: string): Credential | undefined;
}
