import { Secret, TOTP } from "otpauth";
import { expect } from "vitest";
import { api } from "../helpers";
import { time } from "./manual-clock";

/** The code an authenticator app holding `secret` shows at `at` (the test's clock by default). */
export function totpCode(secret: string, at = time.now): string {
  return new TOTP({ secret: Secret.fromBase32(secret), digits: 6, period: 30, algorithm: "SHA1" }).generate({ timestamp: at });
}

/** Sets up and enables 2FA for the session's user; the clock must be frozen (time.freezeAt). */
export async function turnOnTwoFactor(token: string) {
  const setup = await api("/api/account/2fa/setup", { method: "POST", token });
  expect(setup.status).toBe(200);
  const { secret } = await setup.json<{ secret: string; otpauthUrl: string }>();
  const enabled = await api("/api/account/2fa/enable", { json: { code: totpCode(secret) }, token });
  expect(enabled.status).toBe(200);
  const { recoveryCodes } = await enabled.json<{ recoveryCodes: string[] }>();
  return { secret, recoveryCodes };
}
