/**
 * A small TCP proxy on loopback for the fault suite's "Redis slowed" case: every byte in each
 * direction is held for `latencyMs` (in order), and `dropAll()` resets every connection open
 * through it, as a flaky network would. With latency 0 it passes bytes straight through.
 */
import { createServer, type Server, Socket } from "node:net";

/** A running proxy to 127.0.0.1:`targetPort`. */
export interface TcpProxy {
  readonly port: number;
  setLatency(ms: number): void;
  /** Destroys every connection through the proxy (clients see a reset and reconnect). */
  dropAll(): void;
  close(): Promise<void>;
}

/** Forwards `from` to `to`, each chunk no earlier than `latency()` ms after it arrived, in order. */
function forward(from: Socket, to: Socket, latency: () => number): void {
  let lastDue = 0;
  from.on("data", (chunk: Buffer) => {
    const delay = latency();
    if (delay === 0 && lastDue <= Date.now()) {
      to.write(chunk);
      return;
    }
    const due = Math.max(Date.now() + delay, lastDue);
    lastDue = due;
    setTimeout(() => {
      if (!to.destroyed) to.write(chunk);
    }, due - Date.now());
  });
}

/** Starts a proxy on a free loopback port. */
export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  let latencyMs = 0;
  const open = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = new Socket();
    upstream.connect(targetPort, "127.0.0.1");
    for (const socket of [client, upstream]) {
      open.add(socket);
      socket.on("error", () => {});
      socket.on("close", () => {
        open.delete(socket);
        client.destroy();
        upstream.destroy();
      });
    }
    forward(client, upstream, () => latencyMs);
    forward(upstream, client, () => latencyMs);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as { port: number }).port,
    setLatency(ms) {
      latencyMs = ms;
    },
    dropAll() {
      for (const socket of open) socket.resetAndDestroy();
    },
    async close() {
      for (const socket of open) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
