/**
 * The fault suite's system under test: one real redis-server on a free loopback port, a TCP
 * proxy in front of it (to slow and drop the link), and three `fulcrum serve --redis`
 * processes connected through the proxy, each with its own process group so it can be killed
 * with SIGKILL and started again. `quota.replicas` is 3, as the README asks.
 */
import { type FulcrumProcess, startFulcrumProcess } from "../../../bench/fulcrum-process.js";
import { type ReplicaClients, replicaClients } from "../../../bench/soak/mixed-load.js";
import { type RedisProcess, startRedis } from "../../support/redis.js";
import { startTcpProxy, type TcpProxy } from "./tcp-proxy.js";

/** Replicas in the suite. */
export const REPLICA_COUNT = 3;

/** Redis, the proxy and three replicas, with clients kept current across restarts. */
export interface FaultCluster {
  readonly redis: RedisProcess;
  readonly proxy: TcpProxy;
  /** Clients of each replica; an entry is replaced in place when that replica restarts. */
  readonly clients: ReplicaClients[];
  /** SIGKILLs replica `i` (its whole process group). */
  kill(i: number): void;
  /** Starts replica `i` again (new ports) and points `clients[i]` at it. */
  restart(i: number): Promise<void>;
  stop(): Promise<void>;
}

/** Starts everything; resolves once the three replicas listen. */
export async function startFaultCluster(): Promise<FaultCluster> {
  const redis = await startRedis();
  const proxy = await startTcpProxy(redis.port);
  process.env.FULCRUM_QUOTA_REPLICAS = String(REPLICA_COUNT);
  const args = ["--redis", `redis://127.0.0.1:${proxy.port}`];
  const servers: FulcrumProcess[] = [];
  for (let i = 0; i < REPLICA_COUNT; i++) servers.push(await startFulcrumProcess(args));
  const clients = servers.map((s) => replicaClients(s.grpcPort));
  return {
    redis,
    proxy,
    clients,
    kill(i) {
      try {
        process.kill(-servers[i]!.pid, "SIGKILL");
      } catch {
        // Already gone.
      }
    },
    async restart(i) {
      await servers[i]!.stop();
      clients[i]!.close();
      servers[i] = await startFulcrumProcess(args);
      clients[i] = replicaClients(servers[i]!.grpcPort);
    },
    async stop() {
      for (const c of clients) c.close();
      await Promise.all(servers.map((s) => s.stop()));
      await proxy.close();
      await redis.stop();
    },
  };
}
