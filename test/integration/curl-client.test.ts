/**
 * The real server driven by the real `curl` binary: Connect unary JSON over HTTP/1.1 on the web
 * port, the Connect streaming protocol (enveloped JSON frames) for Watch, and plain gRPC with
 * --http2-prior-knowledge and hand-encoded protobuf bodies on both ports.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { App } from "../../src/app/create-app.js";
import { startFulcrum } from "../support/server.js";

const CURL_MAX_TIME_S = 5;
const PROCESS_TIMEOUT_MS = 10_000;

let app: App;
beforeAll(async () => {
  app = await startFulcrum();
});
afterAll(() => app?.close());

const backends = (n: number) =>
  Array.from({ length: n }, (_, i) => ({ id: `b${i}`, address: `10.0.0.${i + 1}:80` }));

interface CurlResult {
  code: number | null;
  stdout: Buffer;
  stderr: string;
}

/** Runs curl to completion, bounded by its own --max-time and a kill timer. */
function curl(args: string[], stdin?: Buffer): Promise<CurlResult> {
  return new Promise((resolve, reject) => {
    const child = spawn("curl", ["-sS", "--max-time", String(CURL_MAX_TIME_S), ...args], {
      stdio: ["pipe", "pipe", "pipe"],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const timer = setTimeout(() => child.kill("SIGKILL"), PROCESS_TIMEOUT_MS);
    child.stdout.on("data", (chunk: Buffer) => out.push(chunk));
    child.stderr.on("data", (chunk: Buffer) => err.push(chunk));
    child.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString() });
    });
    child.stdin.end(stdin ?? Buffer.alloc(0));
  });
}

const STATUS_MARK = "\n--curl-status:";

/** POSTs a Connect unary JSON request; returns the HTTP status, content type and parsed body. */
async function connectCall(
  procedure: string,
  body: unknown,
): Promise<{ status: number; contentType: string; json: Record<string, unknown> }> {
  const result = await curl(
    [
      `http://127.0.0.1:${app.webPort}/${procedure}`,
      "-H",
      "content-type: application/json",
      "--data-binary",
      "@-",
      "-w",
      `${STATUS_MARK}%{http_code} %{content_type}`,
    ],
    Buffer.from(JSON.stringify(body)),
  );
  expect(result.code, result.stderr).toBe(0);
  const text = result.stdout.toString();
  const at = text.lastIndexOf(STATUS_MARK);
  expect(at).toBeGreaterThanOrEqual(0);
  const [status, contentType] = text.slice(at + STATUS_MARK.length).split(" ");
  return { status: Number(status), contentType: contentType ?? "", json: JSON.parse(text.slice(0, at)) };
}

const register = (body: unknown) => connectCall("fulcrum.v1.RegistryService/Register", body);
const select = (body: unknown) => connectCall("fulcrum.v1.BalancerService/Select", body);
const report = (body: unknown) => connectCall("fulcrum.v1.BalancerService/Report", body);
const getService = (service: string) => connectCall("fulcrum.v1.RegistryService/GetService", { service });

interface JsonBackendStatus {
  backend: { id: string };
  inFlight?: number;
}
const backendsOf = (json: Record<string, unknown>) =>
  (json.service as { backends: JsonBackendStatus[] }).backends;
const versionOf = (json: Record<string, unknown>) => (json.service as { version: string }).version;

/** A length-prefixed message (Connect streaming and gRPC share the 5-byte envelope). */
function envelope(payload: Buffer, flags = 0): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt8(flags, 0);
  head.writeUInt32BE(payload.length, 1);
  return Buffer.concat([head, payload]);
}

/** Splits complete envelopes off the front of `buffer`; returns them and the rest. */
function unframe(buffer: Buffer): { frames: { flags: number; payload: Buffer }[]; rest: Buffer } {
  const frames: { flags: number; payload: Buffer }[] = [];
  let offset = 0;
  while (buffer.length - offset >= 5) {
    const length = buffer.readUInt32BE(offset + 1);
    if (buffer.length - offset - 5 < length) break;
    frames.push({ flags: buffer[offset]!, payload: buffer.subarray(offset + 5, offset + 5 + length) });
    offset += 5 + length;
  }
  return { frames, rest: buffer.subarray(offset) };
}

/** Protobuf encoding by hand: a string field and a varint reader, enough for SelectRequest/Response. */
function stringField(field: number, value: string): Buffer {
  const bytes = Buffer.from(value);
  expect(bytes.length).toBeLessThan(128);
  return Buffer.concat([Buffer.from([(field << 3) | 2, bytes.length]), bytes]);
}

function readVarint(buffer: Buffer, offset: number): [value: bigint, next: number] {
  let value = 0n;
  let shift = 0n;
  for (let i = offset; i < buffer.length; i++) {
    const byte = buffer[i]!;
    value |= BigInt(byte & 0x7f) << shift;
    if ((byte & 0x80) === 0) return [value, i + 1];
    shift += 7n;
  }
  throw new Error("truncated varint");
}

/** Decodes a message into field number -> values (Buffers for length-delimited, bigints for varints). */
function decodeFields(buffer: Buffer): Map<number, (Buffer | bigint)[]> {
  const fields = new Map<number, (Buffer | bigint)[]>();
  let offset = 0;
  while (offset < buffer.length) {
    const [key, afterKey] = readVarint(buffer, offset);
    const field = Number(key >> 3n);
    const wireType = Number(key & 7n);
    let value: Buffer | bigint;
    if (wireType === 0) {
      [value, offset] = readVarint(buffer, afterKey);
    } else if (wireType === 2) {
      const [length, afterLength] = readVarint(buffer, afterKey);
      value = buffer.subarray(afterLength, afterLength + Number(length));
      offset = afterLength + Number(length);
    } else {
      throw new Error(`unexpected wire type ${wireType}`);
    }
    fields.set(field, [...(fields.get(field) ?? []), value]);
  }
  return fields;
}

/** Header lines (and trailers, which curl -D prints after the headers over HTTP/2) as name -> value. */
function headerMap(dump: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const line of dump.split(/\r?\n/)) {
    const colon = line.indexOf(":");
    if (colon > 0) map.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  return map;
}

describe("curl against the real server", () => {
  it("registers, selects round robin b0,b1,b2,b0 and reports over Connect JSON", async () => {
    const service = "curl-rr";
    const registered = await register({ service, backends: backends(3) });
    expect(registered.status).toBe(200);
    expect(registered.contentType).toBe("application/json");
    expect(registered.json.changed).toBe(true);
    expect(registered.json.version).toMatch(/^[1-9]\d*$/);

    const picks: string[] = [];
    const tickets: string[] = [];
    for (let i = 0; i < 4; i++) {
      const selected = await select({ service });
      expect(selected.status).toBe(200);
      const chosen = selected.json.backends as { id: string; address: string }[];
      expect(chosen).toHaveLength(1);
      expect(selected.json.version).toBe(registered.json.version);
      picks.push(chosen[0]!.id);
      tickets.push(selected.json.ticket as string);
    }
    expect(picks).toEqual(["b0", "b1", "b2", "b0"]);
    expect(new Set(tickets).size).toBe(4);

    const before = await getService(service);
    expect(backendsOf(before.json).map((b) => [b.backend.id, b.inFlight ?? 0])).toEqual([
      ["b0", 2],
      ["b1", 1],
      ["b2", 1],
    ]);

    const outcome = { ticket: tickets[0], result: "CALL_RESULT_SUCCESS", latency: "0.012s" };
    const first = await report({ outcomes: [outcome] });
    expect(first.status).toBe(200);
    // Connect JSON omits zero values: {"applied":1} means ignored = 0.
    expect(first.json).toEqual({ applied: 1 });
    const second = await report({ outcomes: [outcome] });
    expect(second.status).toBe(200);
    expect(second.json).toEqual({ ignored: 1 });

    const after = await getService(service);
    expect(backendsOf(after.json).find((b) => b.backend.id === "b0")?.inFlight).toBe(1);
  });

  it("watches over the Connect streaming protocol: snapshot, then backend_added with a higher version", async () => {
    const service = "curl-watch";
    const registered = await register({ service, backends: backends(2) });
    expect(registered.status).toBe(200);

    const frames: { flags: number; payload: Buffer }[] = [];
    let pending: Buffer = Buffer.alloc(0);
    let notify: (() => void) | undefined;
    const child: ChildProcess = spawn(
      "curl",
      [
        "-sS",
        "-N",
        "--max-time",
        "8",
        `http://127.0.0.1:${app.webPort}/fulcrum.v1.BalancerService/Watch`,
        "-H",
        "content-type: application/connect+json",
        "--data-binary",
        "@-",
      ],
      { stdio: ["pipe", "pipe", "pipe"] },
    );
    const killTimer = setTimeout(() => child.kill("SIGKILL"), PROCESS_TIMEOUT_MS);
    let stderr = "";
    child.stderr!.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.stdout!.on("data", (chunk: Buffer) => {
      const { frames: complete, rest } = unframe(Buffer.concat([pending, chunk]));
      pending = rest;
      frames.push(...complete);
      notify?.();
    });
    const exited = new Promise<number | null>((resolve) => child.on("close", resolve));
    child.stdin!.end(envelope(Buffer.from(JSON.stringify({ services: [service] }))));

    const frameAt = async (index: number) => {
      const deadline = Date.now() + 5_000;
      while (frames.length <= index) {
        if (Date.now() > deadline) throw new Error(`no frame ${index} within 5 s; curl stderr: ${stderr}`);
        await new Promise<void>((resolve) => {
          notify = resolve;
          setTimeout(resolve, 100);
        });
      }
      return frames[index]!;
    };

    try {
      const first = await frameAt(0);
      expect(first.flags).toBe(0);
      const snapshot = JSON.parse(first.payload.toString());
      expect(snapshot.service).toBe(service);
      expect(snapshot.version).toBe(registered.json.version);
      expect(snapshot.snapshot.name).toBe(service);
      expect(snapshot.snapshot.backends.map((b: JsonBackendStatus) => b.backend.id)).toEqual(["b0", "b1"]);

      const merged = await register({
        service,
        mode: "REGISTER_MODE_MERGE",
        backends: [{ id: "extra", address: "10.9.9.9:80" }],
      });
      expect(merged.status).toBe(200);
      expect(merged.json.changed).toBe(true);

      const second = await frameAt(1);
      expect(second.flags).toBe(0);
      const added = JSON.parse(second.payload.toString());
      expect(added.service).toBe(service);
      expect(added.backendAdded.backend).toMatchObject({ id: "extra", address: "10.9.9.9:80" });
      expect(BigInt(added.version)).toBeGreaterThan(BigInt(snapshot.version));
      expect(added.version).toBe(merged.json.version);
    } finally {
      child.kill("SIGTERM");
      await exited;
      clearTimeout(killTimer);
    }
  });

  it("answers bad input with Connect error JSON and changes nothing", async () => {
    const service = "curl-bad";
    await register({ service, backends: backends(2) });
    const before = await getService(service);

    const empty = await register({ service: "", backends: backends(1) });
    expect(empty.status).toBe(400);
    expect(empty.json.code).toBe("invalid_argument");
    expect(empty.json.message).toBe("service: must not be empty");

    const address = await register({ service, backends: [{ address: "no-port" }] });
    expect(address.status).toBe(400);
    expect(address.json.code).toBe("invalid_argument");
    expect(address.json.message).toBe('backends[0].address: must be host:port, got "no-port"');
    const details = address.json.details as {
      type: string;
      value: string;
      debug?: { fieldViolations: { field: string }[] };
    }[];
    expect(details.map((d) => d.type)).toEqual(["google.rpc.BadRequest"]);
    expect(details[0]!.debug?.fieldViolations.map((v) => v.field)).toEqual(["backends[0].address"]);
    // The binary value (google.rpc.BadRequest) carries the same field: 1 = field_violations, 1 = field.
    const violation = decodeFields(Buffer.from(details[0]!.value, "base64")).get(1)![0] as Buffer;
    expect((decodeFields(violation).get(1)![0] as Buffer).toString()).toBe("backends[0].address");

    const dup = await register({
      service,
      backends: [
        { id: "x", address: "10.1.1.1:1" },
        { id: "x", address: "10.1.1.2:1" },
      ],
    });
    expect(dup.status).toBe(400);
    expect(dup.json.code).toBe("invalid_argument");
    expect(dup.json.message).toContain('backends[1].id: duplicate id "x"');

    const weight = await register({ service, backends: [{ address: "10.1.1.1:1", weight: 10_001 }] });
    expect(weight.status).toBe(400);
    expect(weight.json.code).toBe("invalid_argument");
    expect(weight.json.message).toMatch(/^backends\[0\]\.weight: .*10000.*10001/);

    const unknown = await select({ service: "curl-no-such-service" });
    expect(unknown.status).toBe(404);
    expect(unknown.json).toMatchObject({
      code: "not_found",
      message: 'service "curl-no-such-service" is not registered',
      details: [{ type: "google.rpc.ErrorInfo" }],
    });

    const after = await getService(service);
    expect(versionOf(after.json)).toBe(versionOf(before.json));
    expect(backendsOf(after.json).map((b) => b.backend.id)).toEqual(["b0", "b1"]);
  });

  it.each([
    ["gRPC port (grpc-js)", () => app.grpcPort],
    ["web port (connect-node, h2c)", () => app.webPort],
  ])("speaks plain gRPC with --http2-prior-knowledge on the %s", async (_name, port) => {
    const service = `curl-grpc-${port()}`;
    expect((await register({ service, backends: backends(2) })).status).toBe(200);

    const call = (name: string) =>
      curl(
        [
          "--http2-prior-knowledge",
          "-D",
          "-",
          `http://127.0.0.1:${port()}/fulcrum.v1.BalancerService/Select`,
          "-H",
          "content-type: application/grpc",
          "-H",
          "te: trailers",
          "--data-binary",
          "@-",
        ],
        envelope(stringField(1, name)),
      );

    const ok = await call(service);
    expect(ok.code, ok.stderr).toBe(0);
    // -D - and the body share stdout: headers and trailers are text, the body a gRPC frame.
    const text = ok.stdout.toString("latin1");
    const headerEnd = text.indexOf("\r\n\r\n");
    expect(text.slice(0, headerEnd)).toMatch(/^HTTP\/2 200/);
    expect(headerMap(text.slice(0, headerEnd)).get("content-type")).toMatch(/^application\/grpc/);
    const bodyStart = headerEnd + 4;
    const bodyLength = 5 + ok.stdout.readUInt32BE(bodyStart + 1);
    const { frames, rest } = unframe(ok.stdout.subarray(bodyStart, bodyStart + bodyLength));
    expect(rest).toHaveLength(0);
    expect(frames).toHaveLength(1);
    expect(frames[0]!.flags).toBe(0);
    const trailers = headerMap(ok.stdout.subarray(bodyStart + bodyLength).toString());
    expect(trailers.get("grpc-status")).toBe("0");

    const response = decodeFields(frames[0]!.payload);
    const chosen = response.get(1) as Buffer[]; // SelectResponse.backends
    expect(chosen).toHaveLength(1);
    const backend = decodeFields(chosen[0]!);
    expect((backend.get(1)![0] as Buffer).toString()).toBe("b0"); // SelectedBackend.id
    expect((backend.get(2)![0] as Buffer).toString()).toBe("10.0.0.1:80"); // SelectedBackend.address
    expect((response.get(2)![0] as Buffer).length).toBeGreaterThan(0); // ticket

    const missing = await call("curl-grpc-no-such-service");
    expect(missing.code, missing.stderr).toBe(0);
    const dump = headerMap(missing.stdout.toString("latin1"));
    expect(dump.get("grpc-status")).toBe("5");
    expect(decodeURIComponent(dump.get("grpc-message") ?? "")).toBe(
      'service "curl-grpc-no-such-service" is not registered',
    );
  });
});
