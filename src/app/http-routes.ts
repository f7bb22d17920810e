import type { Metrics } from "../observability/metrics.js";
import type { HttpRoute } from "../rpc/connect-server.js";

/** /healthz (the process answers), /readyz (serving, not shutting down) and /metrics. */
export function createHttpRoutes(metrics: Metrics, isReady: () => boolean): HttpRoute[] {
  return [
    (req, res) => {
      if (req.url !== "/healthz") return false;
      res.writeHead(200, { "content-type": "text/plain" });
      res.end("ok\n");
      return true;
    },
    (req, res) => {
      if (req.url !== "/readyz") return false;
      const ready = isReady();
      res.writeHead(ready ? 200 : 503, { "content-type": "text/plain" });
      res.end(ready ? "ready\n" : "not ready\n");
      return true;
    },
    (req, res) => {
      if (req.url !== "/metrics") return false;
      metrics.registry.metrics().then(
        (text) => {
          res.writeHead(200, { "content-type": metrics.registry.contentType });
          res.end(text);
        },
        () => {
          res.writeHead(500);
          res.end();
        },
      );
      return true;
    },
  ];
}
