#!/usr/bin/env bash
# Installs everything Tessera needs to build and test on Debian 12. Idempotent: packages already present
# are left alone, and apt is only asked when something is missing.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config
  libprotobuf-dev protobuf-compiler libonnx-dev libonnx-testdata
  libopenmpi-dev openmpi-bin
  libdnnl-dev ocl-icd-opencl-dev libgtest-dev  # oneDNN's CMake config looks for OpenCL
  python3 python3-numpy python3-onnx python3-torch python3-torchvision
  clang libclang-rt-14-dev
  libcpp-httplib-dev nlohmann-json3-dev libssl-dev openssl  # serving: HTTP/REST with TLS, JSON
  libgrpc++-dev protobuf-compiler-grpc python3-grpcio       # serving: gRPC server; the tests' gRPC client
  wrk iproute2 curl                                         # load test; network namespaces for multi-host tests; the guide
  tcpdump                                                   # the multi-host test that no tensor crosses a link in the clear
  libpcre2-dev libicu-dev python3-jinja2                     # tokenizers: split regexes, Unicode normalization; chat-template reference
  libjpeg62-turbo-dev libpng-dev python3-pil                # ImageDecoder's codecs; its test images and references
)

missing=()
for pkg in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done

# Node.js and npm run the reference peers (scripts/install-npm-peers.sh). A machine that has them from
# another source (one nodejs package that bundles npm) keeps them; else Debian's nodejs and npm.
command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
else
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

bash "$(dirname "$0")/install-npm-peers.sh"
