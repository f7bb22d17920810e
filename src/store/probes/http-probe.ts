/**
 * HTTP GET probe (behaviour.md H5): passes when `GET path` answers with a status in
 * [expectedStatusMin, expectedStatusMax] (default 200-399). Sends the check's Host header when
 * set; uses a fresh connection per check (no agent, `connection: close`) so a check measures
 * what a new client would get; reads the status line and headers only. Plain HTTP/1.1.
 */
import { request } from "node:http";
import {
  type Probe,
  type ProbeOutcome,
  type ProbeTarget,
  probeFailed,
  probePassed,
} from "../../health/probe.js";
import { abortedOutcome, errorDetail } from "./probe-io.js";

/** A Probe for checks of kind http. */
export function createHttpProbe(): Probe {
  return { check: checkHttp };
}

function checkHttp(target: ProbeTarget, signal: AbortSignal): Promise<ProbeOutcome> {
  const probe = target.spec.probe;
  if (probe.kind !== "http") return Promise.resolve(probeFailed(`not an http check: ${probe.kind}`));
  if (signal.aborted) return Promise.resolve(abortedOutcome());
  return new Promise((resolve) => {
    const headers: Record<string, string> = { connection: "close", "user-agent": "fulcrum-health-check" };
    if (probe.host) headers.host = probe.host;
    const req = request({
      host: target.host,
      port: target.port,
      path: probe.path,
      method: "GET",
      headers,
      agent: false,
    });
    const done = (outcome: ProbeOutcome) => {
      signal.removeEventListener("abort", onAbort);
      req.destroy();
      resolve(outcome);
    };
    const onAbort = () => done(abortedOutcome());
    signal.addEventListener("abort", onAbort, { once: true });
    req.once("response", (res) => {
      res.resume();
      const status = res.statusCode ?? 0;
      const detail = `GET ${probe.path}: ${status}`;
      const ok = status >= probe.expectedStatusMin && status <= probe.expectedStatusMax;
      done(
        ok
          ? probePassed(detail)
          : probeFailed(`${detail}, expected ${probe.expectedStatusMin}-${probe.expectedStatusMax}`),
      );
    });
    req.once("error", (error) => done(probeFailed(`GET ${probe.path}: ${errorDetail(error)}`)));
    req.end();
  });
}
