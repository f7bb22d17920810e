"""A proxyless gRPC client in its own process: Debian's python3-grpcio (C-core) configured only
by the bootstrap file in GRPC_XDS_BOOTSTRAP. Dials xds:///<argv[1]>; for each stdin line
"call <n>" it makes n unary calls to /fulcrum.test.Echo/Who (raw bytes: the backend answers with
its id) and prints one JSON line {"counts": {id: calls}, "errors": n}."""

import json
import sys

import grpc

MAX_CALLS = 10_000


def main() -> None:
    channel = grpc.insecure_channel(f"xds:///{sys.argv[1]}")
    who = channel.unary_unary("/fulcrum.test.Echo/Who")
    for line in sys.stdin:
        parts = line.split()
        if len(parts) != 2 or parts[0] != "call":
            continue
        counts: dict[str, int] = {}
        errors = 0
        for _ in range(min(int(parts[1]), MAX_CALLS)):
            try:
                backend = who(b"", timeout=2).decode()
                counts[backend] = counts.get(backend, 0) + 1
            except grpc.RpcError:
                errors += 1
        print(json.dumps({"counts": counts, "errors": errors}), flush=True)
    channel.close()


if __name__ == "__main__":
    main()
