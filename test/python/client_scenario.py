"""A Python gRPC client scenario against a real Fulcrum (run by test/integration/python-client.test.ts).

Usage: client_scenario.py GRPC_PORT STUBS_DIR SERVICE_PREFIX

STUBS_DIR holds the *_pb2.py / *_pb2_grpc.py modules protoc generated from proto/ at test time.
Every check is an explicit assertion; on success the script prints one JSON summary on stdout
and exits 0. Any failed check exits non-zero with the reason on stderr.
"""

import json
import sys

port, stubs_dir, prefix = sys.argv[1], sys.argv[2], sys.argv[3]
sys.path.insert(0, stubs_dir)

import grpc  # noqa: E402
from fulcrum.v1 import balancer_pb2, balancer_pb2_grpc, registry_pb2, registry_pb2_grpc, types_pb2  # noqa: E402
from google.rpc import error_details_pb2, status_pb2  # noqa: E402

TIMEOUT_S = 5.0


def check(condition, message):
    """Fails with a message even under python -O (plain assert would be stripped)."""
    if not condition:
        raise AssertionError(message)


def backends(n):
    return [types_pb2.Backend(id=f"b{i}", address=f"10.0.0.{i + 1}:80") for i in range(n)]


def expect_error(call, request):
    """Calls a unary method that must fail; returns the grpc.RpcError."""
    try:
        call(request, timeout=TIMEOUT_S)
    except grpc.RpcError as error:
        return error
    raise AssertionError(f"{request!r} succeeded but a failure was expected")


def status_details(error):
    """Decodes google.rpc.Status from the grpc-status-details-bin trailer."""
    raw = [value for key, value in error.trailing_metadata() or () if key == "grpc-status-details-bin"]
    check(len(raw) == 1, f"expected one grpc-status-details-bin trailer, got {len(raw)}")
    status = status_pb2.Status()
    status.ParseFromString(raw[0])
    return status


def main():
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    grpc.channel_ready_future(channel).result(timeout=TIMEOUT_S)
    registry = registry_pb2_grpc.RegistryServiceStub(channel)
    balancer = balancer_pb2_grpc.BalancerServiceStub(channel)
    summary = {}

    # Register, round robin, report twice.
    rr = f"{prefix}-rr"
    registered = registry.Register(registry_pb2.RegisterRequest(service=rr, backends=backends(3)), timeout=TIMEOUT_S)
    check(registered.changed, "first Register must change the service")
    check(registered.version > 0, f"version must be positive, got {registered.version}")
    picks, tickets = [], []
    for _ in range(4):
        selected = balancer.Select(balancer_pb2.SelectRequest(service=rr), timeout=TIMEOUT_S)
        check(len(selected.backends) == 1, f"Select must return one backend, got {len(selected.backends)}")
        check(selected.version == registered.version, f"Select version {selected.version} != {registered.version}")
        picks.append(selected.backends[0].id)
        tickets.append(selected.ticket)
    check(picks == ["b0", "b1", "b2", "b0"], f"round robin order, got {picks}")
    check(len(set(tickets)) == 4, f"tickets must be distinct, got {tickets}")
    summary["rr"] = picks

    status = registry.GetService(registry_pb2.GetServiceRequest(service=rr), timeout=TIMEOUT_S)
    in_flight = {b.backend.id: b.in_flight for b in status.service.backends}
    check(in_flight == {"b0": 2, "b1": 1, "b2": 1}, f"in-flight before Report, got {in_flight}")

    outcome = balancer_pb2.Outcome(ticket=tickets[3], result=types_pb2.CALL_RESULT_SUCCESS)
    outcome.latency.FromMilliseconds(12)
    reports = []
    for _ in range(2):
        report = balancer.Report(balancer_pb2.ReportRequest(outcomes=[outcome]), timeout=TIMEOUT_S)
        reports.append({"applied": report.applied, "ignored": report.ignored})
    check(reports == [{"applied": 1, "ignored": 0}, {"applied": 0, "ignored": 1}], f"reports, got {reports}")
    summary["reports"] = reports
    status = registry.GetService(registry_pb2.GetServiceRequest(service=rr), timeout=TIMEOUT_S)
    b0 = [b for b in status.service.backends if b.backend.id == "b0"][0]
    check(b0.in_flight == 1, f"b0 in-flight after Report, got {b0.in_flight}")
    summary["b0_in_flight_after_report"] = b0.in_flight

    # Watch: snapshot first, then backend_added after a MERGE.
    watched = f"{prefix}-watch"
    first_version = registry.Register(
        registry_pb2.RegisterRequest(service=watched, backends=backends(2)), timeout=TIMEOUT_S
    ).version
    stream = balancer.Watch(balancer_pb2.WatchRequest(services=[watched]), timeout=3 * TIMEOUT_S)
    try:
        first = next(stream)
        check(first.WhichOneof("event") == "snapshot", f"first event, got {first.WhichOneof('event')}")
        check(first.service == watched and first.version == first_version, f"snapshot header, got {first}")
        check([b.backend.id for b in first.snapshot.backends] == ["b0", "b1"], f"snapshot backends, got {first}")
        merged = registry.Register(
            registry_pb2.RegisterRequest(
                service=watched,
                mode=registry_pb2.REGISTER_MODE_MERGE,
                backends=[types_pb2.Backend(id="extra", address="10.9.9.9:80")],
            ),
            timeout=TIMEOUT_S,
        )
        check(merged.changed, "MERGE of a new backend must change the service")
        second = next(stream)
        check(second.WhichOneof("event") == "backend_added", f"second event, got {second.WhichOneof('event')}")
        check(second.backend_added.backend.id == "extra", f"added backend, got {second.backend_added}")
        check(second.backend_added.backend.address == "10.9.9.9:80", f"added address, got {second.backend_added}")
        check(second.version > first.version, f"version must grow: {first.version} -> {second.version}")
        check(second.version == merged.version, f"event version {second.version} != Register {merged.version}")
    finally:
        stream.cancel()
    summary["watch"] = {
        "events": [first.WhichOneof("event"), second.WhichOneof("event")],
        "versions_increase": second.version > first.version,
    }

    # Bad inputs: exact codes and messages; nothing changes.
    bad = f"{prefix}-bad"
    registry.Register(registry_pb2.RegisterRequest(service=bad, backends=backends(2)), timeout=TIMEOUT_S)
    before = registry.GetService(registry_pb2.GetServiceRequest(service=bad), timeout=TIMEOUT_S).service.version
    errors = {}

    def record(name, error):
        errors[name] = {"code": error.code().name, "message": error.details()}
        return error

    empty = record(
        "empty_service", expect_error(registry.Register, registry_pb2.RegisterRequest(service="", backends=backends(1)))
    )
    check(empty.code() == grpc.StatusCode.INVALID_ARGUMENT, f"empty service code, got {empty.code()}")
    check("service: must not be empty" in empty.details(), f"empty service message, got {empty.details()!r}")

    address = record(
        "bad_address",
        expect_error(
            registry.Register,
            registry_pb2.RegisterRequest(service=bad, backends=[types_pb2.Backend(address="no-port")]),
        ),
    )
    check(address.code() == grpc.StatusCode.INVALID_ARGUMENT, f"address code, got {address.code()}")
    check(address.details().startswith("backends[0].address: "), f"address message, got {address.details()!r}")
    details = status_details(address)
    check(details.code == grpc.StatusCode.INVALID_ARGUMENT.value[0], f"status code in details, got {details.code}")
    check(details.message == address.details(), f"status message in details, got {details.message!r}")
    violations = []
    for any_detail in details.details:
        bad_request = error_details_pb2.BadRequest()
        if any_detail.Unpack(bad_request):
            violations.extend(v.field for v in bad_request.field_violations)
    check(violations == ["backends[0].address"], f"BadRequest field violations, got {violations}")
    summary["bad_address_violations"] = violations

    dup = record(
        "duplicate_id",
        expect_error(
            registry.Register,
            registry_pb2.RegisterRequest(
                service=bad,
                backends=[types_pb2.Backend(id="x", address="10.1.1.1:1"), types_pb2.Backend(id="x", address="10.1.1.2:1")],
            ),
        ),
    )
    check(dup.code() == grpc.StatusCode.INVALID_ARGUMENT, f"duplicate id code, got {dup.code()}")
    check('backends[1].id: duplicate id "x"' in dup.details(), f"duplicate id message, got {dup.details()!r}")

    weight = record(
        "weight",
        expect_error(
            registry.Register,
            registry_pb2.RegisterRequest(service=bad, backends=[types_pb2.Backend(address="10.1.1.1:1", weight=10001)]),
        ),
    )
    check(weight.code() == grpc.StatusCode.INVALID_ARGUMENT, f"weight code, got {weight.code()}")
    check(weight.details().startswith("backends[0].weight: "), f"weight message, got {weight.details()!r}")

    unknown_name = f"{prefix}-no-such-service"
    unknown = record(
        "unknown_service", expect_error(balancer.Select, balancer_pb2.SelectRequest(service=unknown_name))
    )
    check(unknown.code() == grpc.StatusCode.NOT_FOUND, f"unknown service code, got {unknown.code()}")
    check(f'"{unknown_name}"' in unknown.details(), f"unknown service message, got {unknown.details()!r}")

    after = registry.GetService(registry_pb2.GetServiceRequest(service=bad), timeout=TIMEOUT_S).service
    check(after.version == before, f"version changed by failed calls: {before} -> {after.version}")
    check([b.backend.id for b in after.backends] == ["b0", "b1"], f"backends changed: {after.backends}")
    summary["errors"] = errors
    summary["version_unchanged"] = after.version == before

    channel.close()
    print(json.dumps(summary, sort_keys=True))


if __name__ == "__main__":
    main()
