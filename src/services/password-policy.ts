import { badRequest } from "../lib/errors";
import { COMMON_PASSWORDS, COMMON_PASSWORD_STEMS } from "./common-passwords";

export const MIN_PASSWORD_LENGTH = 10;
/** Generous for pass phrases and password managers; bounds the work scrypt is asked to do. */
export const MAX_PASSWORD_LENGTH = 256;

const commonWhole = new Set(COMMON_PASSWORDS);
const commonStems = new Set(COMMON_PASSWORD_STEMS);

/** The word inside the usual padding: "Password123!" → "password", "2024dragon!!" → "dragon". */
function stem(lowered: string): string {
  return lowered.replace(/^[^\p{L}]+|[^\p{L}]+$/gu, "");
}

/**
 * The weak-password rules of the API contract beyond the length (checked by the request schema): not a common
 * password, nor one of them padded with digits or symbols, nor one character repeated, nor the account's
 * own email address or its local part. Throws a 400 with the reason.
 */
export function assertStrongPassword(password: string, email: string): void {
  const lowered = password.trim().toLowerCase();
  const core = stem(lowered);
  const address = email.toLowerCase();
  const localPart = address.split("@")[0];
  const ownNames = new Set([address, localPart, stem(localPart)].filter(Boolean));
  if (ownNames.has(lowered) || ownNames.has(core)) {
    throw badRequest("Password must not be your email address.");
  }
  if (commonWhole.has(lowered) || commonStems.has(core) || /^(.)\1*$/u.test(lowered)) {
    throw badRequest("Password is too common; choose one that is harder to guess.");
  }
}
