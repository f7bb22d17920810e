#!/usr/bin/env bash
# Installs the Debian packages the tests use, when missing, each named explicitly: installs
# run with --no-install-recommends, so a package that only comes as a "Recommends" of another
# (libprotobuf-dev, with the google/protobuf/*.proto well-known types, is only recommended by
# protobuf-compiler) must be listed here itself. Runs before `npm test`; does nothing when all
# are present.
set -euo pipefail
need=()
# package, and a check that holds when it is installed
want() { eval "$2" >/dev/null 2>&1 || need+=("$1"); }
want redis-server 'command -v redis-server'
want redis-tools 'command -v redis-cli'
want nghttp2-client 'command -v h2load'
want curl 'command -v curl'
want openssl 'command -v openssl'
want protobuf-compiler 'command -v protoc'
want libprotobuf-dev 'test -f /usr/include/google/protobuf/duration.proto'
want protobuf-compiler-grpc 'command -v grpc_python_plugin'
want python3 'test -x /usr/bin/python3'
want python3-grpcio "/usr/bin/python3 -c 'import grpc'"
want python3-protobuf "/usr/bin/python3 -c 'import google.protobuf'"
want chromium 'command -v chromium'
[ ${#need[@]} -eq 0 ] && exit 0
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
echo "installing ${need[*]} (Debian packages the tests need)"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
