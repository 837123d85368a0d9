import { z } from "@hono/zod-openapi";
import { MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH } from "../../services/password-policy";

const EmailSchema = z
  .email("Enter a valid email address.")
  .max(254, "Email address is too long.")
  .openapi({ example: "jane@example.com" });

/** A password being set: the length rule here, the common-password and email rules in the service. */
const NewPasswordSchema = z
  .string()
  .min(MIN_PASSWORD_LENGTH, `Password must be at least ${MIN_PASSWORD_LENGTH} characters long.`)
  .max(MAX_PASSWORD_LENGTH, `Password must be at most ${MAX_PASSWORD_LENGTH} characters long.`)
  .openapi({ example: "SecureP@ss123" });

const EmailTokenSchema = z.string().min(1, "Token is required.").max(200).openapi({ description: "The token from the emailed link" });

export const RegisterBodySchema = z
  .object({
    forename: z
      .string()
      .trim()
      .min(1, "Forename is required.")
      .max(100)
      // It is printed into emails: no line breaks or other control characters.
      .regex(/^\P{Cc}*$/u, "Forename must not contain control characters.")
      // The generator copies a /u regex's flag into the pattern text; JSON Schema patterns are Unicode-aware already.
      .openapi({ example: "Jane", pattern: "^\\P{Cc}*$" }),
    email: EmailSchema,
    password: NewPasswordSchema,
    organisationName: z.string().trim().max(200).optional().openapi({ example: "Acme Corp", description: "Blank counts as absent" }),
  })
  .openapi("RegisterRequest");

export const ConfirmEmailBodySchema = z.object({ token: EmailTokenSchema }).openapi("ConfirmEmailRequest");

export const LoginBodySchema = z
  .object({
    email: EmailSchema,
    password: z.string().min(1, "Password is required.").max(MAX_PASSWORD_LENGTH).openapi({ example: "your-password" }),
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

export const ResetPasswordBodySchema = z
  .object({ token: EmailTokenSchema, password: NewPasswordSchema })
  .openapi("ResetPasswordRequest");
