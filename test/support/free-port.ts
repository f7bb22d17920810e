/** Free loopback ports for the servers tests and benches start (redis-server, fulcrum, the V8 inspector). */
import { createServer } from "node:net";

/** A free TCP port on 127.0.0.1 (and, with `plus`, port + plus free too: the cluster bus port). */
export async function freePort(plus = 0): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await listenOnce(0);
    if (plus === 0 || port + plus > 65_535) return port;
    if ((await listenOnce(port + plus).catch(() => 0)) !== 0) return port;
  }
  throw new Error("no free port pair found");
}

function listenOnce(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => {
      const bound = (server.address() as { port: number }).port;
      server.close(() => resolve(bound));
    });
  });
}
