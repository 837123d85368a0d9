import { z } from "@hono/zod-openapi";
import { MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH } from "../../services/password-policy";

const EmailSchema = z
  .email("Enter a valid email address.")
  .max(254, "Email address is too long.")
  .openapi({ example: "jane@example.com" });

/** A password being set: the length rule here, the common-password and email rules in the service. */
export const NewPasswordSchema = z
  .string()
  .min(MIN_PASSWORD_LENGTH, `Password must be at least ${MIN_PASSWORD_LENGTH} characters long.`)
  .max(MAX_PASSWORD_LENGTH, `Password must be at most ${MAX_PASSWORD_LENGTH} characters long.`)
  .openapi({ example: "SecureP@ss123" });

export const ForenameSchema = z
  .string()
  .trim()
  .min(1, "Forename is required.")
  .max(100)
  // It is printed into emails: no line breaks or other control characters.
  .regex(/^\P{Cc}*$/u, "Forename must not contain control characters.")
  // The generator copies a /u regex's flag into the pattern text; JSON Schema patterns are Unicode-aware already.
  .openapi({ example: "Jane", pattern: "^\\P{Cc}*$" });

export const OrganisationNameSchema = z.string().trim().max(200, "Organisation name must be at most 200 characters.");

/** A one-time code when 2FA is on: the authenticator's 6 digits, or one of the recovery codes (each once). */
export const OtpSchema = z
  .string()
  .trim()
  .min(1, "otp must not be empty.")
  .max(64, "otp is too long.")
  .openapi({ example: "123456", description: "With 2FA on: the 6-digit code of the authenticator app, or an unused recovery code" });

/** A password being checked, not set: any length the policy could ever have accepted. */
export const CurrentPasswordSchema = (field: string) =>
  z.string({ error: `${field} is required.` }).min(1, `${field} is required.`).max(MAX_PASSWORD_LENGTH);

const EmailTokenSchema = z.string().min(1, "Token is required.").max(200).openapi({ description: "The token from the emailed link" });

export const RegisterBodySchema = z
  .object({
    forename: ForenameSchema,
    email: EmailSchema,
    password: NewPasswordSchema,
    organisationName: OrganisationNameSchema.optional().openapi({ example: "Acme Corp", description: "Blank counts as absent" }),
  })
  .openapi("RegisterRequest");

export const ConfirmEmailBodySchema = z.object({ token: EmailTokenSchema }).openapi("ConfirmEmailRequest");

export const LoginBodySchema = z
  .object({
    email: EmailSchema,
    password: CurrentPasswordSchema("Password").openapi({ example: "your-password" }),
    otp: OtpSchema.optional(),
  })
  .openapi("LoginRequest");

export const LoginResponseSchema = z
  .object({
    token: z.string().openapi({ example: "eyJhbGciOiJIUzI1NiIs..." }),
    expiry: z.string().openapi({ example: "2026-03-27T10:00:00Z" }),
  })
  .openapi("LoginResponse");

/**
 * Any address string is accepted: the seed says forgot-password always answers 200, so even a malformed
 * address gets the same answer as an unknown one (it simply matches no user).
 */
export const ForgotPasswordBodySchema = z
  .object({
    email: z.string({ error: "email is required." }).max(254, "Email address is too long.").openapi({ example: "jane@example.com" }),
  })
  .openapi("ForgotPasswordRequest");

/** Like forgot-password: any address string gets the same answer. */
export const ResendConfirmationBodySchema = ForgotPasswordBodySchema.openapi("ResendConfirmationRequest");

export const ResetPasswordBodySchema = z
  .object({ token: EmailTokenSchema, password: NewPasswordSchema })
  .openapi("ResetPasswordRequest");
