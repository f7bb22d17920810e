/**
 * A proxyless gRPC client in its own process: @grpc/grpc-js with @grpc/grpc-js-xds, configured
 * only by the bootstrap file in GRPC_XDS_BOOTSTRAP. Dials xds:///<argv[2]>; for each stdin
 * line "call <n>" it makes n unary calls to /fulcrum.test.Echo/Who (raw bytes: the backend
 * answers with its id) and prints one JSON line {"counts": {id: calls}, "errors": n}.
 */
import { createInterface } from "node:readline";
import * as grpc from "@grpc/grpc-js";
import * as xds from "@grpc/grpc-js-xds";

xds.register();
const target = `xds:///${process.argv[2]}`;
const client = new grpc.Client(target, grpc.credentials.createInsecure());
const identity = (buffer) => buffer;

function who() {
  return new Promise((resolve) => {
    client.makeUnaryRequest(
      "/fulcrum.test.Echo/Who",
      identity,
      identity,
      Buffer.alloc(0),
      { deadline: Date.now() + 2_000 },
      (error, reply) => resolve(error ? undefined : reply.toString()),
    );
  });
}

for await (const line of createInterface({ input: process.stdin })) {
  const [command, count] = line.trim().split(/\s+/);
  if (command !== "call") continue;
  const counts = {};
  let errors = 0;
  for (let i = 0; i < Math.min(Number(count), 10_000); i++) {
    const id = await who();
    if (id === undefined) errors++;
    else counts[id] = (counts[id] ?? 0) + 1;
  }
  process.stdout.write(`${JSON.stringify({ counts, errors })}\n`);
}
client.close();
