/**
 * A small OTLP/HTTP trace receiver for tests: a node:http server on a free loopback port that
 * accepts POST /v1/traces, keeps every request's body, and answers 200. JSON bodies
 * (OTEL_EXPORTER_OTLP_PROTOCOL=http/json) are flattened into spans; protobuf bodies are kept raw.
 */
import { once } from "node:events";
import { createServer } from "node:http";

/** One span as OTLP/JSON writes it (ids in hex). */
export interface ReceivedSpan {
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId?: string;
  readonly name: string;
  readonly kind: number;
  readonly attributes: Readonly<Record<string, unknown>>;
  readonly status?: { code?: number; message?: string };
}

/** What the receiver got so far. */
export interface OtlpReceiver {
  readonly endpoint: string;
  /** Spans of every JSON export, in arrival order. */
  spans(): ReceivedSpan[];
  /** Raw bodies with their content type. */
  readonly bodies: { contentType: string; body: Buffer }[];
  close(): Promise<void>;
}

interface JsonAttribute {
  key: string;
  value: Record<string, unknown>;
}

/** OTLP/JSON's AnyValue: the one field that is set; int64 arrives as a string. */
function anyValue(value: Record<string, unknown>): unknown {
  if ("intValue" in value) return Number(value.intValue);
  const [first] = Object.values(value);
  return first;
}

function spansOf(body: Buffer): ReceivedSpan[] {
  const request = JSON.parse(body.toString("utf8")) as {
    resourceSpans?: {
      scopeSpans?: { spans?: (Omit<ReceivedSpan, "attributes"> & { attributes?: JsonAttribute[] })[] }[];
    }[];
  };
  return (request.resourceSpans ?? []).flatMap((resource) =>
    (resource.scopeSpans ?? []).flatMap((scope) =>
      (scope.spans ?? []).map((span) => ({
        ...span,
        attributes: Object.fromEntries((span.attributes ?? []).map((a) => [a.key, anyValue(a.value)])),
      })),
    ),
  );
}

/** Starts a receiver on 127.0.0.1 and a free port. */
export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const bodies: { contentType: string; body: Buffer }[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      if (req.method !== "POST" || req.url !== "/v1/traces") {
        res.writeHead(404).end();
        return;
      }
      bodies.push({ contentType: req.headers["content-type"] ?? "", body: Buffer.concat(chunks) });
      const json = req.headers["content-type"]?.startsWith("application/json");
      res.writeHead(200, { "content-type": json ? "application/json" : "application/x-protobuf" });
      res.end(json ? "{}" : undefined);
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as { port: number };
  return {
    endpoint: `http://127.0.0.1:${port}`,
    bodies,
    spans: () =>
      bodies.filter((b) => b.contentType.startsWith("application/json")).flatMap((b) => spansOf(b.body)),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
