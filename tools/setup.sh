# tools/setup.sh: sourced by tools/kasim and tools/test. Installs the Debian
# packages kasim needs (once), configures a build directory and builds.
# Everything it does is idempotent and quick when there is nothing to do.

KASIM_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
KASIM_PACKAGES=(cmake ninja-build g++ libboost-program-options-dev libboost-context-dev
                nlohmann-json3-dev librapidcheck-dev libgtest-dev libbenchmark-dev
                python3 python3-jsonschema clang libclang-rt-14-dev)

kasim_install_packages() {
  local missing=()
  for p in "${KASIM_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "kasim: installing ${missing[*]}" >&2
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then sudo=(sudo); else
      echo "kasim: need root or sudo to install: ${missing[*]}" >&2
      return 2
    fi
  fi
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2
}

# kasim_build DIR [cmake options...] -- [ninja targets...]
kasim_build() {
  local dir="$1"; shift
  local cmake_opts=() targets=()
  while [ $# -gt 0 ] && [ "$1" != "--" ]; do cmake_opts+=("$1"); shift; done
  [ "${1:-}" = "--" ] && shift
  targets=("$@")
  if [ ! -f "$dir/build.ninja" ]; then
    echo "kasim: configuring $dir (the first build takes a few minutes)" >&2
    cmake -S "$KASIM_ROOT" -B "$dir" -G Ninja "${cmake_opts[@]}" >&2 || return 3
  fi
  local log
  log="$(mktemp)"
  if ! ninja -C "$dir" "${targets[@]}" >"$log" 2>&1; then
    cat "$log" >&2
    rm -f "$log"
    echo "kasim: build failed" >&2
    return 3
  fi
  grep -q '^ninja: no work to do' "$log" || tail -n 1 "$log" >&2
  rm -f "$log"
}
