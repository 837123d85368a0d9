/**
 * The API's shapes, inferred from the same zod schemas that validate requests and generate
 * /api/openapi.json (type-only imports: nothing of the Worker ends up in the bundle). When a route
 * folder moves, only this file changes.
 */
import type { z } from "zod";
import type { AccountSchema } from "../../../src/routes/account/schemas";
import type { AgentDetailSchema, AgentSchema, RegistrationTokenSchema } from "../../../src/routes/agent/schemas";
import type { ApiKeySchema, CreatedApiKeySchema } from "../../../src/routes/api-key/schemas";
import type { SessionSchema } from "../../../src/routes/auth-session/schemas";
import type { LoginBodySchema, RegisterBodySchema } from "../../../src/routes/auth/schemas";
import type { BackupFileSummarySchema } from "../../../src/routes/backup-file/schemas";
import type {
  BackupJobCreatedSchema,
  BackupJobSchema,
  BackupJobSummarySchema,
  BackupRunSchema,
  BackupTriggeredSchema,
  CreateBackupJobSchema,
} from "../../../src/routes/backup-job/schemas";
import type { BugReportCreateSchema, BugReportCreatedSchema, BugReportSchema, KnownIssueSchema } from "../../../src/routes/bug-report/schemas";
import type { CreateCredentialSchema, CredentialSchema } from "../../../src/routes/credential/schemas";
import type { DatabaseSchema } from "../../../src/routes/database/schemas";
import type { CreateDestinationSchema, DestinationSummarySchema } from "../../../src/routes/destination/schemas";
import type { LogMessageSchema } from "../../../src/routes/log/schemas";
import type { CreateRestoreSchema, RestoreQueuedSchema, RestoreSchema, VerificationQueuedSchema, VerificationSchema } from "../../../src/routes/restore/schemas";
import type { CreatedWebhookSchema, DeliverySchema, WebhookSchema } from "../../../src/routes/webhook/schemas";

export type { LiveEvent } from "../../../src/services/live-feed";

export type Account = z.output<typeof AccountSchema>;
export type Agent = z.output<typeof AgentSchema>;
export type AgentDetail = z.output<typeof AgentDetailSchema>;
export type RegistrationToken = z.output<typeof RegistrationTokenSchema>;
export type ApiKey = z.output<typeof ApiKeySchema>;
export type CreatedApiKey = z.output<typeof CreatedApiKeySchema>;
export type Session = z.output<typeof SessionSchema>;
export type LoginBody = z.input<typeof LoginBodySchema>;
export type RegisterBody = z.input<typeof RegisterBodySchema>;
export type BackupFile = z.output<typeof BackupFileSummarySchema>;
export type BackupJobSummary = z.output<typeof BackupJobSummarySchema>;
export type BackupJob = z.output<typeof BackupJobSchema>;
export type BackupJobCreated = z.output<typeof BackupJobCreatedSchema>;
export type CreateBackupJob = z.input<typeof CreateBackupJobSchema>;
export type BackupRun = z.output<typeof BackupRunSchema>;
export type BackupTriggered = z.output<typeof BackupTriggeredSchema>;
export type BugReport = z.output<typeof BugReportSchema>;
export type BugReportCreate = z.input<typeof BugReportCreateSchema>;
export type BugReportCreated = z.output<typeof BugReportCreatedSchema>;
export type KnownIssue = z.output<typeof KnownIssueSchema>;
export type Credential = z.output<typeof CredentialSchema>;
export type CreateCredential = z.input<typeof CreateCredentialSchema>;
export type Database = z.output<typeof DatabaseSchema>;
export type Destination = z.output<typeof DestinationSummarySchema>;
export type CreateDestination = z.input<typeof CreateDestinationSchema>;
export type LogMessage = z.output<typeof LogMessageSchema>;
export type Webhook = z.output<typeof WebhookSchema>;
export type CreatedWebhook = z.output<typeof CreatedWebhookSchema>;
export type Delivery = z.output<typeof DeliverySchema>;
export type Restore = z.output<typeof RestoreSchema>;
export type CreateRestore = z.input<typeof CreateRestoreSchema>;
export type RestoreQueued = z.output<typeof RestoreQueuedSchema>;
export type Verification = z.output<typeof VerificationSchema>;
export type VerificationQueued = z.output<typeof VerificationQueuedSchema>;
export type RestoreStatus = Restore["status"];
export type Schedule = BackupJob["schedules"][number];
export type BackupMode = Schedule["backupMode"];
export type RunStatus = BackupRun["status"];
