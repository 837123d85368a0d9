import { DurableObject } from "cloudflare:workers";
import type { LiveEvent } from "../services/live-feed";

/** The dashboard sends this text to keep its socket alive; the runtime answers without waking us. */
export const LIVE_PING = "ping";
export const LIVE_PONG = "pong";

/**
 * One per subscriber (named by subscriberId): holds the open dashboards' WebSockets with the
 * Hibernation API (an idle dashboard costs no duration) and fans live events out to them.
 * Nothing is stored: a dashboard that reconnects refetches, the feed only says what changed.
 */
export class LiveFeed extends DurableObject<Env> {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair(LIVE_PING, LIVE_PONG));
  }

  /** The Worker has authenticated the caller; this only accepts the upgrade. */
  async fetch(request: Request): Promise<Response> {
    if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") return new Response("Expected a WebSocket upgrade.", { status: 426 });
    const { 0: client, 1: server } = new WebSocketPair();
    this.ctx.acceptWebSocket(server);
    server.send(JSON.stringify({ type: "hello" }));
    return new Response(null, { status: 101, webSocket: client });
  }

  async publish(event: LiveEvent): Promise<number> {
    const text = JSON.stringify(event);
    let sent = 0;
    for (const socket of this.ctx.getWebSockets()) {
      try {
        socket.send(text);
        sent++;
      } catch {
        // A socket closing right now: its close handler cleans up.
      }
    }
    return sent;
  }

  /** Dashboards only listen; anything else they send is ignored. */
  async webSocketMessage(): Promise<void> {}

  async webSocketClose(ws: WebSocket, code: number): Promise<void> {
    if (ws.readyState !== WebSocket.CLOSED) ws.close(code >= 3000 || code === 1000 || code === 1001 ? code : 1000, "Closed.");
  }
}
