#!/usr/bin/env bash
# Installs the Debian packages the tests use, when missing: a real redis-server, h2load,
# Debian's protoc + grpc_python_plugin and python3-grpcio for the Python client, chromium for
# the dashboard. Runs before `npm test`; does nothing when all are present.
set -euo pipefail
need=()
command -v redis-server >/dev/null || need+=(redis-server)
command -v h2load >/dev/null || need+=(nghttp2-client)
command -v protoc >/dev/null || need+=(protobuf-compiler)
command -v grpc_python_plugin >/dev/null || need+=(protobuf-compiler-grpc)
/usr/bin/python3 -c 'import grpc, google.protobuf' 2>/dev/null || need+=(python3-grpcio python3-protobuf)
command -v chromium >/dev/null || need+=(chromium)
[ ${#need[@]} -eq 0 ] && exit 0
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
echo "installing ${need[*]} (Debian packages the tests need)"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
