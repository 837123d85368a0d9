import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { WebSocket, WebSocketServer } from "ws";

/**
 * Sits between the agent and the platform and relays everything, so a test can act at an exact
 * moment of the conversation: `onAgentFrame` sees each agent frame after it was forwarded; while
 * `holdPlatformFrames` is set, the platform's frames (acks) are not passed on.
 */
export class SocketProxy {
  private readonly upstream: string;
  private readonly http: Server;
  private readonly wss = new WebSocketServer({ noServer: true });
  onAgentFrame: (text: string) => void = () => {};
  holdPlatformFrames = false;

  constructor(upstream: string) {
    this.upstream = upstream;
    this.http = createServer(async (req, res) => {
      // Plain requests (health, the agent's token probe) go straight through.
      const response = await fetch(`${this.upstream}${req.url}`, { method: req.method, headers: { authorization: req.headers.authorization ?? "" } });
      res.writeHead(response.status, { "content-type": response.headers.get("content-type") ?? "text/plain" }).end(Buffer.from(await response.arrayBuffer()));
    });
    this.http.on("upgrade", (req, socket, head) => {
      const target = new WebSocket(`${this.upstream.replace(/^http/, "ws")}${req.url}`, { headers: { authorization: req.headers.authorization ?? "" } });
      target.once("unexpected-response", (_request, response) => socket.end(`HTTP/1.1 ${response.statusCode} Refused\r\nContent-Length: 0\r\n\r\n`));
      target.once("error", () => socket.destroy());
      target.once("open", () =>
        this.wss.handleUpgrade(req, socket, head, (agent) => {
          const buffered: string[] = [];
          target.on("message", (data) => {
            if (this.holdPlatformFrames) return;
            agent.send(data.toString());
          });
          agent.on("message", (data) => {
            const text = data.toString();
            if (target.readyState === WebSocket.OPEN) target.send(text);
            else buffered.push(text);
            this.onAgentFrame(text);
          });
          agent.on("close", () => target.close());
          agent.on("error", () => target.terminate());
          target.on("close", (code, reason) => (agent.readyState === WebSocket.OPEN ? agent.close(code === 1005 || code === 1006 ? 1000 : code, reason) : undefined));
        }),
      );
    });
  }

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.http.listen(0, "127.0.0.1", resolve));
    return `http://127.0.0.1:${(this.http.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    for (const client of this.wss.clients) client.terminate();
    this.http.closeAllConnections();
    await new Promise<void>((resolve) => this.http.close(() => resolve()));
  }
}
