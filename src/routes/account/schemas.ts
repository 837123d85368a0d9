import { z } from "@hono/zod-openapi";
import { PLANS } from "../../db/schema";
import { CurrentPasswordSchema, ForenameSchema, NewPasswordSchema, OrganisationNameSchema, OtpSchema } from "../auth/schemas";

const limit = (description: string) => z.number().int().nullable().openapi({ description: `${description} (null = unlimited)` });

export const AccountSchema = z
  .object({
    userId: z.string().nullable().openapi({ description: "null for an API key whose creator no longer exists" }),
    forename: z.string().nullable(),
    email: z.string().nullable(),
    twoFactorEnabled: z.boolean().openapi({ description: "Whether the user logs in with a one-time code too (false without a user)" }),
    subscriberId: z.string(),
    organisationName: z.string().nullable(),
    plan: z.enum(PLANS),
    limits: z
      .object({
        requestsPerMinute: z.number().int(),
        agents: limit("Agents"),
        backupJobs: limit("Backup jobs"),
        destinations: limit("Destinations"),
        apiKeys: limit("API keys"),
        webhooks: limit("Webhooks"),
        logRetentionDays: z.number().int(),
      })
      .openapi("PlanLimits"),
    usage: z
      .object({
        agents: z.number().int(),
        backupJobs: z.number().int(),
        destinations: z.number().int(),
        apiKeys: z.number().int(),
        webhooks: z.number().int(),
      })
      .openapi("Usage"),
  })
  .openapi("Account");

export const UpdateAccountBodySchema = z
  .object({
    forename: ForenameSchema.optional(),
    organisationName: OrganisationNameSchema.nullable().optional().openapi({ example: "Acme Corp", description: "Blank or null clears it" }),
  })
  .refine((body) => body.forename !== undefined || body.organisationName !== undefined, {
    message: "Give forename, organisationName or both.",
  })
  .openapi("UpdateAccountRequest");

export const ChangePasswordBodySchema = z
  .object({
    currentPassword: CurrentPasswordSchema("currentPassword"),
    newPassword: NewPasswordSchema,
  })
  .openapi("ChangePasswordRequest");

export const ChangePasswordResponseSchema = z
  .object({
    message: z.string(),
    token: z.string().openapi({ description: "A fresh access token for the calling session: the one used for this request no longer works" }),
    expiry: z.string().openapi({ example: "2026-03-27T10:00:00Z" }),
  })
  .openapi("ChangePasswordResponse");

export const DeleteAccountBodySchema = z
  .object({
    password: CurrentPasswordSchema("password"),
    otp: OtpSchema.optional(),
  })
  .openapi("DeleteAccountRequest");

export const TwoFactorSetupSchema = z
  .object({
    secret: z.string().openapi({ example: "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", description: "Base32, for typing into an authenticator app" }),
    otpauthUrl: z.string().openapi({
      example: "otpauth://totp/DataSync:jane%40example.com?issuer=DataSync&secret=JBSWY3DPEHPK3PXP&algorithm=SHA1&digits=6&period=30",
      description: "The same secret as a Key URI, for a QR code",
    }),
  })
  .openapi("TwoFactorSetup");

const TotpCodeSchema = z
  .string({ error: "code is required." })
  .trim()
  .regex(/^\d{6}$/, "code must be the 6 digits shown by the authenticator app.")
  .openapi({ example: "123456" });

export const EnableTwoFactorBodySchema = z.object({ code: TotpCodeSchema }).openapi("EnableTwoFactorRequest");

export const RecoveryCodesSchema = z
  .object({
    recoveryCodes: z
      .array(z.string())
      .openapi({ example: ["abcd-efgh-ijkm-nopq"], description: "10 single-use codes, shown only now: each can stand for one one-time code" }),
  })
  .openapi("RecoveryCodes");

export const DisableTwoFactorBodySchema = z
  .object({
    code: TotpCodeSchema.optional(),
    recoveryCode: z.string().trim().min(1).max(64).optional().openapi({ example: "abcd-efgh-ijkm-nopq" }),
  })
  .refine((body) => (body.code === undefined) !== (body.recoveryCode === undefined), { message: "Give either code or recoveryCode." })
  .openapi("DisableTwoFactorRequest");
