import { z } from "@hono/zod-openapi";
import { BACKUP_MODES } from "../../domain/backup";
import { DESTINATION_TYPES } from "../../domain/destination";

const text = (label: string, max: number) =>
  z
    .string({ error: (issue) => (issue.input === undefined ? `${label} is required.` : `${label} must be a string.`) })
    .trim()
    .min(1, `${label} is required.`)
    .max(max, `${label} must be at most ${max} characters.`);

export const AgentIdParams = z.object({
  id: z.string().openapi({ param: { name: "id", in: "path" }, example: "d290f1ee-6c54-4b01-90e6-d701748f0851" }),
});

export const RegistrationTokenSchema = z
  .object({
    registrationToken: z.string().openapi({ example: "ds_reg_8Jx…" }),
    expiresAt: z.string().openapi({ example: "2026-03-27T14:30:00Z" }),
    installCommand: z.string().openapi({
      example: "curl -fsSL https://api.data-sync.co.uk/install.sh | sh -s -- --token ds_reg_8Jx…",
      description: "Run on the server to back up: installs the agent, enrolls it with this token and starts its service.",
    }),
  })
  .openapi("RegistrationToken");

export const AgentRegisterSchema = z
  .object({
    registrationToken: text("registrationToken", 200),
    hostname: text("hostname", 255).openapi({ example: "PROD-SQL-01" }),
    displayName: text("displayName", 200).nullable().optional().openapi({ example: "Production SQL Server" }),
    operatingSystem: text("operatingSystem", 255).openapi({ example: "Windows Server 2022" }),
    version: text("version", 64).openapi({ example: "1.4.2" }),
  })
  .openapi("AgentRegister");

export const AgentRegisteredSchema = z
  .object({
    agentId: z.string().openapi({ example: "d290f1ee-6c54-4b01-90e6-d701748f0851" }),
    agentToken: z.string().openapi({ example: "ds_agent_…", description: "Shown once; the agent keeps it to connect." }),
  })
  .openapi("AgentRegistered");

export const AgentSchema = z
  .object({
    agentId: z.string().openapi({ example: "d290f1ee-6c54-4b01-90e6-d701748f0851" }),
    hostname: z.string().openapi({ example: "PROD-SQL-01" }),
    displayName: z.string().nullable().openapi({ example: "Production SQL Server" }),
    version: z.string().openapi({ example: "1.4.2" }),
    updateAvailable: z.boolean().openapi({ description: "The platform serves a newer agent: run `datasync-agent update` on the machine." }),
    isOnline: z.boolean(),
    lastSeenUtc: z.string().nullable().openapi({ example: "2026-03-26T14:30:00Z" }),
    operatingSystem: z.string().openapi({ example: "Windows Server 2022" }),
  })
  .openapi("Agent");

export const AgentDatabaseSchema = z
  .object({
    databaseId: z.string(),
    name: z.string().openapi({ example: "AdventureWorks" }),
    missingSince: z.string().nullable().openapi({ description: "Set when the agent's last inventory no longer listed it." }),
  })
  .openapi("AgentDatabase");

export const EngineCapabilitiesSchema = z
  .object({
    backupModes: z.array(z.enum(BACKUP_MODES)).openapi({ example: ["Full", "TransactionLog"] }),
    restore: z.boolean().openapi({ description: "Whether the agent can restore this engine's backups." }),
  })
  .openapi("EngineCapabilities", {
    description: "What the engine can do, as its agent reports it. An agent of protocol 1.0 reports nothing: Full backups only, no restore. Schedules and run-nows in other modes are refused.",
  });

export const EngineSchema = z
  .object({
    engineId: z.string(),
    engineKey: z.string().openapi({ example: "mssql:MSSQLSERVER" }),
    dbmsType: z.string().openapi({ example: "MicrosoftSql" }),
    version: z.string().nullable().openapi({ example: "16.0.4175.1" }),
    error: z.string().nullable().openapi({
      example: null,
      description: "Why the agent found this engine but could not list its databases (e.g. a refused login); null when it could.",
    }),
    capabilities: EngineCapabilitiesSchema,
    databases: z.array(AgentDatabaseSchema),
  })
  .openapi("Engine");

export const AgentDetailSchema = AgentSchema.extend({
  destinationTypes: z.array(z.enum(DESTINATION_TYPES)).openapi({
    description: "The destination types this agent can write (an agent of protocol 1.0: LocalStorage, S3Storage and SftpStorage). A job using another type is refused.",
    example: ["LocalStorage", "S3Storage", "AzureBlobStorage", "SftpStorage", "GoogleCloudStorage"],
  }),
  engines: z.array(EngineSchema),
}).openapi("AgentDetail");
