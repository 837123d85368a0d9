import { useQueryClient } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import type { LiveEvent } from "./types";

export type LiveState = "connecting" | "live" | "offline";

/** Bytes done of running backups, as the live feed last reported them. */
export const progressKey = (backupRunId: string) => ["progress", backupRunId] as const;

/**
 * Opens the live feed (GET /api/live, the session cookie authenticates the upgrade) and turns its
 * change notices into refetches of what they touch. Reconnects with backoff; after a reconnect
 * everything is refetched, since notices sent meanwhile are lost.
 */
export function useLiveFeed(): LiveState {
  const queryClient = useQueryClient();
  const [state, setState] = useState<LiveState>("connecting");

  useEffect(() => {
    let socket: WebSocket | null = null;
    let attempt = 0;
    let stopped = false;
    let retry: ReturnType<typeof setTimeout> | undefined;
    let keepAlive: ReturnType<typeof setInterval> | undefined;

    const onEvent = (event: LiveEvent | { type: "hello" }) => {
      switch (event.type) {
        case "agent.presence":
          queryClient.invalidateQueries({ queryKey: ["agents"] });
          queryClient.invalidateQueries({ queryKey: ["agent", event.agentId] });
          return;
        case "backup.run":
          if (event.bytesDone !== undefined) queryClient.setQueryData(progressKey(event.backupRunId), event.bytesDone);
          queryClient.invalidateQueries({ queryKey: ["history"] });
          queryClient.invalidateQueries({ queryKey: ["jobs"] });
          if (event.status !== "Running") {
            queryClient.invalidateQueries({ queryKey: ["files"] });
            queryClient.invalidateQueries({ queryKey: ["logs"] });
          }
          return;
      }
    };

    const connect = () => {
      const url = new URL("/api/live", location.href);
      url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
      socket = new WebSocket(url);
      socket.onopen = () => {
        if (attempt > 0) queryClient.invalidateQueries();
        attempt = 0;
        setState("live");
        keepAlive = setInterval(() => socket?.readyState === WebSocket.OPEN && socket.send("ping"), 30_000);
      };
      socket.onmessage = (message) => {
        if (message.data !== "pong") onEvent(JSON.parse(message.data as string));
      };
      socket.onclose = () => {
        clearInterval(keepAlive);
        if (stopped) return;
        setState("offline");
        const delay = Math.min(30_000, 500 * 2 ** attempt++) * (0.5 + Math.random() / 2);
        retry = setTimeout(connect, delay);
      };
    };
    connect();
    return () => {
      stopped = true;
      clearTimeout(retry);
      clearInterval(keepAlive);
      socket?.close();
    };
  }, [queryClient]);

  return state;
}
