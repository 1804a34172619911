#!/usr/bin/env bash
# Installs pinned third-party tools, built from the Go module proxy, into a cache outside
# the repo keyed by version. Idempotent: a tool already in the cache is not built again.
#
#   scripts/tools.sh [kube-apiserver|kube-controller-manager|kubectl|etcd|all]   build what is missing
#   scripts/tools.sh ghz                                  the gRPC load generator for make bench
#   scripts/tools.sh path TOOL                            print the cached binary's path
#   scripts/tools.sh lua | argocd-crds                    Debian's lua5.1; Argo CD's CRDs (prints their folder)
#
# v1.32.2: the module proxy refuses some staging modules of v1.32.13 (csi-translation-lib,
# kube-controller-manager, endpointslice, cri-client) and serves all those we need at v1.32.2.
# Crossplane's CLI and core (github.com/crossplane/*) are refused by the module proxy
# this project can reach (403), so they are not here; see README "What is not here yet".
set -euo pipefail

KUBERNETES_VERSION="${KUBERNETES_VERSION:-v1.32.2}"
ETCD_VERSION="${ETCD_VERSION:-v3.5.21}"
ARGOCD_VERSION="${ARGOCD_VERSION:-v2.14.21}"
GHZ_VERSION="${GHZ_VERSION:-v0.121.0}"
CACHE="${AEROGRID_CACHE:-$HOME/.cache/aerogrid}"

say() { echo "tools: $*" >&2; }
die() { echo "tools: $*" >&2; exit 1; }

bin_path() {
  case "$1" in
    kube-apiserver|kube-controller-manager|kubectl) echo "$CACHE/kubernetes-$KUBERNETES_VERSION/$1" ;;
    etcd) echo "$CACHE/etcd-$ETCD_VERSION/etcd" ;;
    ghz) echo "$CACHE/ghz-$GHZ_VERSION/ghz" ;;
    *) die "unknown tool $1 (want kube-apiserver, kube-controller-manager, kubectl, etcd or ghz)" ;;
  esac
}

need_go() {
  command -v go >/dev/null || die "Go is required to build pinned tools from the Go module proxy; install Go 1.23 or newer"
}

# A throwaway module that requires $1@$2 and runs `go build` on the given packages.
build_in_module() {
  local module=$1 version=$2 out=$3 ldflags=$4; shift 4
  local work; work=$(mktemp -d)
  trap "rm -rf '$work'" RETURN
  (
    cd "$work"
    go mod init aerogrid.local/tools >/dev/null 2>&1
    printf 'require %s %s\n' "$module" "$version" >> go.mod
    if [ -n "${REPLACES:-}" ]; then printf '%s\n' "$REPLACES" >> go.mod; fi
    GOFLAGS=-mod=mod go mod download "$module" || die "cannot download $module@$version from the Go module proxy ($(go env GOPROXY))"
    GOFLAGS=-mod=mod go get "$module@$version" >/dev/null 2>&1 || true
    for pkg in "$@"; do
      say "building $pkg ($version)"
      CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath -ldflags "$ldflags" -o "$out/$(basename "$pkg")" "$pkg"
    done
  )
}

build_kubernetes() {
  local out; out=$(dirname "$(bin_path kube-apiserver)")
  local cmd missing=()
  for cmd in kube-apiserver kube-controller-manager kubectl; do [ -x "$out/$cmd" ] || missing+=("k8s.io/kubernetes/cmd/$cmd"); done
  [ ${#missing[@]} -eq 0 ] && { say "kubernetes $KUBERNETES_VERSION: cached in $out"; return; }
  need_go
  mkdir -p "$out"
  # k8s.io/kubernetes points its staging modules at ./staging; point them at their published twins.
  local minor="${KUBERNETES_VERSION#v1.}"; local staging="v0.${minor}"
  local mods
  mods=$(GOFLAGS=-mod=mod go mod download -json "k8s.io/kubernetes@$KUBERNETES_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
  [ -n "$mods" ] || die "cannot download k8s.io/kubernetes@$KUBERNETES_VERSION from the Go module proxy"
  REPLACES=$(sed -n 's#^\s*\(k8s.io/[a-z0-9-]*\) => ./staging/.*#replace \1 => \1 '"$staging"'#p' "$mods")
  local v="$KUBERNETES_VERSION" major=1 minornum="${minor%%.*}"
  local ld="-s -w"
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ld="$ld -X $p.gitVersion=$v -X $p.gitMajor=$major -X $p.gitMinor=$minornum -X $p.gitTreeState=clean -X $p.buildDate=1970-01-01T00:00:00Z"
  done
  REPLACES="$REPLACES" build_in_module k8s.io/kubernetes "$KUBERNETES_VERSION" "$out" "$ld" "${missing[@]}"
}

build_etcd() {
  local out; out=$(dirname "$(bin_path etcd)")
  [ -x "$out/etcd" ] && { say "etcd $ETCD_VERSION: cached in $out"; return; }
  need_go
  mkdir -p "$out"
  # etcd's server module carries replace directives; building it as a dependency ignores them.
  build_in_module go.etcd.io/etcd/server/v3 "$ETCD_VERSION" "$out" "-s -w" go.etcd.io/etcd/server/v3
  mv "$out/v3" "$out/etcd"
}

# ghz, a gRPC load generator in Go: the benchmark's client must not be the bottleneck, and a
# Node client is (its own decoding of the responses costs more than some servers' work).
build_ghz() {
  local out; out=$(dirname "$(bin_path ghz)")
  [ -x "$out/ghz" ] && { say "ghz $GHZ_VERSION: cached in $out"; return; }
  need_go
  mkdir -p "$out"
  say "building github.com/bojand/ghz/cmd/ghz ($GHZ_VERSION)"
  CGO_ENABLED=0 GOBIN="$out" go install -trimpath -ldflags "-s -w" "github.com/bojand/ghz/cmd/ghz@$GHZ_VERSION" \
    || die "cannot build github.com/bojand/ghz@$GHZ_VERSION from the Go module proxy"
}

# Debian's Lua 5.1: Argo CD runs health checks with Lua 5.1 semantics.
install_lua() {
  command -v lua5.1 >/dev/null && { say "lua5.1: installed"; return; }
  command -v apt-get >/dev/null || die "lua5.1 is required (Debian package lua5.1)"
  say "installing Debian's lua5.1"
  apt-get install -y -qq lua5.1 >/dev/null 2>&1 || { apt-get update -qq >/dev/null && apt-get install -y -qq lua5.1 >/dev/null; } || die "cannot install lua5.1"
}

# Argo CD's CRDs, from the github.com/argoproj/argo-cd/v2 module (prints their folder).
argocd_crds() {
  need_go
  local dir
  dir=$(cd "$(mktemp -d)" && GOFLAGS=-mod=mod go mod download -json "github.com/argoproj/argo-cd/v2@$ARGOCD_VERSION" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
  [ -d "$dir/manifests/crds" ] || die "cannot download github.com/argoproj/argo-cd/v2@$ARGOCD_VERSION from the Go module proxy"
  echo "$dir/manifests/crds"
}

case "${1:-all}" in
  path) bin_path "${2:?tool name}" ;;
  kube-apiserver|kube-controller-manager|kubectl) build_kubernetes ;;
  etcd) build_etcd ;;
  ghz) build_ghz ;;
  lua) install_lua ;;
  argocd-crds) argocd_crds ;;
  all) build_etcd; build_kubernetes; install_lua; argocd_crds >/dev/null ;;
  *) die "usage: scripts/tools.sh [all|kube-apiserver|kube-controller-manager|kubectl|etcd|ghz|lua|argocd-crds|path TOOL]" ;;
esac
