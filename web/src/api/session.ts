import { useQuery, useQueryClient } from "@tanstack/react-query";
import { ApiError, api, del, post } from "./client";
import type { Account, LoginBody, Session } from "./types";

export const accountKey = ["account"] as const;

/** What the log-in page says to a user sent there (history state), e.g. after the account was deleted. */
export interface LogInNotice {
  notice?: string;
}

/** The signed-in user, or null when there is no session (the cookie is HttpOnly: only the API can tell). */
export function useAccount() {
  return useQuery({
    queryKey: accountKey,
    queryFn: async () => {
      try {
        return await api<Account>("/api/account");
      } catch (err) {
        if (err instanceof ApiError && err.status === 401) return null;
        throw err;
      }
    },
    staleTime: 60_000,
  });
}

export function useSessionActions() {
  const queryClient = useQueryClient();
  /** Drops everything cached for a user who is no longer logged in (logged out, or the account deleted). */
  const forget = () => {
    queryClient.clear();
    queryClient.setQueryData(accountKey, null);
  };
  return {
    forget,
    async logIn(body: LoginBody & { otp?: string }) {
      await post<Session>("/api/auth/session", body);
      queryClient.clear();
      await queryClient.fetchQuery({ queryKey: accountKey, queryFn: () => api<Account>("/api/account") });
    },
    async logOut() {
      await del("/api/auth/session");
      forget();
    },
  };
}
