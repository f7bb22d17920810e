/**
 * TCP connect probe (behaviour.md H5): passes when a TCP connection to the target opens, and
 * closes it at once. Implements the core's Probe port with node:net.
 */
import { connect } from "node:net";
import {
  type Probe,
  type ProbeOutcome,
  type ProbeTarget,
  probeFailed,
  probePassed,
} from "../../health/probe.js";
import { abortedOutcome, errorDetail, hostPort } from "./probe-io.js";

/** A Probe that checks that `host:port` accepts a TCP connection. */
export function createTcpProbe(): Probe {
  return { check: checkTcp };
}

function checkTcp(target: ProbeTarget, signal: AbortSignal): Promise<ProbeOutcome> {
  if (signal.aborted) return Promise.resolve(abortedOutcome());
  return new Promise((resolve) => {
    const socket = connect({ host: target.host, port: target.port });
    const done = (outcome: ProbeOutcome) => {
      signal.removeEventListener("abort", onAbort);
      socket.destroy();
      resolve(outcome);
    };
    const onAbort = () => done(abortedOutcome());
    signal.addEventListener("abort", onAbort, { once: true });
    socket.once("connect", () => done(probePassed(`tcp connect to ${hostPort(target.host, target.port)}`)));
    socket.once("error", (error) => done(probeFailed(`tcp connect: ${errorDetail(error)}`)));
  });
}
