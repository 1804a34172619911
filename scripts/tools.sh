#!/usr/bin/env bash
# Installs pinned third-party tools, built from the Go module proxy, into a cache outside
# the repo keyed by version. Idempotent: a tool already in the cache is not built again.
#
#   scripts/tools.sh [all|test-tools|control-plane]       build what is missing (control-plane: what make demo needs;
#                                                         test-tools: what make test needs but the Istio harness and Argo CD, which it builds beside the tests)
#   scripts/tools.sh kube-apiserver|kube-controller-manager|kubectl|kubelet|kube-scheduler|kube-proxy|etcd   one of them
#   scripts/tools.sh ghz                                  the gRPC load generator for make bench
#   scripts/tools.sh function-go-templating               the peer function: make bench and test/peers.test.ts
#   scripts/tools.sh path TOOL                            print the cached binary's path
#   scripts/tools.sh crossplane | crossplane-cli          Crossplane core and the `crossplane` CLI
#   scripts/tools.sh crossplane-src                       the unpacked Crossplane sources (prints their folder)
#   scripts/tools.sh registry                             Debian's docker-registry (a local OCI registry)
#   scripts/tools.sh lua | argocd-crds                    Debian's lua5.1; Argo CD's CRDs (prints their folder)
#   scripts/tools.sh shells                               Debian's zsh and fish (the CLI's completion scripts run in them)
#   scripts/tools.sh chromium                             Debian's chromium (the console's browser tests; Playwright cannot download one here)
#   scripts/tools.sh argocd                               Argo CD (one multi-call binary), Debian's redis-server and git
#                                                         (`path argocd-share`: its CRDs, base ConfigMaps, git-verify-wrapper.sh)
#   scripts/tools.sh node                                 the real node: kubelet, kube-scheduler and kube-proxy, Debian's containerd,
#                                                         runc, CNI plugins, mmdebstrap and dnsmasq, crane, the Kaniko executor, CoreDNS,
#                                                         the images (pause, Kaniko, CoreDNS, one base per runtime) and the Python package mirror
#   scripts/tools.sh coredns | helm                       CoreDNS (the cluster DNS) and helm (Crossplane's chart)
#   scripts/tools.sh kwok                                 KWOK, make scale's simulated node for the Apps' pods (`path kwok-stages`: its stages)
#   scripts/tools.sh crane | kaniko | images | pypi       one of those (`path images`, `path pypi`: their folders)
#   scripts/tools.sh istio-harness                        the Istio tier's harness (test/istio/): Istio's analyzers and config
#                                                         generator, at the version test/istio/go.mod pins, compiled as a Go test
#
# Every tool is built under a lock of its own (flock on $CACHE/.locks/TOOL) into a temporary
# path that is renamed into place, so two runs that share the cache (two terminals, a CI job
# beside a developer) never see a half-built tool: the second waits, then finds it cached.
#
# v1.32.2: the module proxy refuses some staging modules of v1.32.13 (csi-translation-lib,
# kube-controller-manager, endpointslice, cri-client) and serves all those we need at v1.32.2.
#
# Crossplane, Argo CD and Kaniko: the Go module proxy is tried first for the pinned version, as a
# user on the internet would get it. The proxy this project can reach refuses every
# github.com/crossplane/* module and Kaniko (403), and serves Argo CD v3.5.1 without the
# gitops-engine folder it builds with; then the upstream source archive of the same version in
# ../shared/vendor-src/ (AEROGRID_VENDOR_SRC) is checked against its SHA256SUMS, unpacked into the
# cache and built. The version tested never depends on what the proxy serves.
set -euo pipefail

KUBERNETES_VERSION="${KUBERNETES_VERSION:-v1.32.2}"
ETCD_VERSION="${ETCD_VERSION:-v3.5.21}"
ARGOCD_VERSION="${ARGOCD_VERSION:-v3.5.1}"
GHZ_VERSION="${GHZ_VERSION:-v0.121.0}"
# The peer in make bench (issue 20): the same platform as Go templates.
GO_TEMPLATING_VERSION="${GO_TEMPLATING_VERSION:-v0.9.2}"
# Crossplane core v2.3.4: v2.2.x rewrote resourceRefs on every reconcile of an XR that composes
# same-named objects in several namespaces (fixed upstream in v2.3.2, crossplane#7341).
CROSSPLANE_VERSION="${CROSSPLANE_VERSION:-v2.3.4}"
CROSSPLANE_RUNTIME_VERSION="${CROSSPLANE_RUNTIME_VERSION:-v2.3.3}"
FUNCTION_SDK_GO_VERSION="${FUNCTION_SDK_GO_VERSION:-v0.7.1}"
# The real node (issue 29): go-containerregistry's crane packs the images; Kaniko is Chainguard's
# maintained fork of the archived GoogleContainerTools/kaniko, as platform.yaml names it.
CRANE_VERSION="${CRANE_VERSION:-v0.22.1}"
KANIKO_VERSION="${KANIKO_VERSION:-v1.25.5}"
PAUSE_VERSION="${PAUSE_VERSION:-3.10}"
PYPISERVER_VERSION="${PYPISERVER_VERSION:-2.4.2}"
# The in-cluster install (issue 30): cluster DNS, and helm for Crossplane's chart.
COREDNS_VERSION="${COREDNS_VERSION:-v1.15.0}"
HELM_VERSION="${HELM_VERSION:-v4.3.2}"
# make scale's simulated node for the Apps' pods (1,000 real builds cannot run here): KWOK.
KWOK_VERSION="${KWOK_VERSION:-v0.8.0}"
CACHE="${AEROGRID_CACHE:-$HOME/.cache/aerogrid}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENDOR_SRC="${AEROGRID_VENDOR_SRC:-$ROOT/../shared/vendor-src}"

# The base image of each runtime platform.yaml offers: Debian's own Python, from the suite that
# ships it (bookworm: 3.11, trixie: 3.13; no Debian suite ships 3.12). RUNTIME=SUITE.
BASE_RUNTIMES="${BASE_RUNTIMES:-python3.11=bookworm python3.13=trixie}"
DEBIAN_MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"

say() { echo "tools: $*" >&2; }
die() { echo "tools: $*" >&2; exit 1; }

bin_path() {
  case "$1" in
    kube-apiserver|kube-controller-manager|kubectl|kubelet|kube-scheduler|kube-proxy) echo "$CACHE/kubernetes-$KUBERNETES_VERSION/$1" ;;
    coredns) echo "$CACHE/coredns-$COREDNS_VERSION/coredns" ;;
    helm) echo "$CACHE/helm-$HELM_VERSION/helm" ;;
    kwok) echo "$CACHE/kwok-$KWOK_VERSION/kwok" ;;
    kwok-stages) echo "$CACHE/kwok-$KWOK_VERSION/stages" ;;
    etcd) echo "$CACHE/etcd-$ETCD_VERSION/etcd" ;;
    ghz) echo "$CACHE/ghz-$GHZ_VERSION/ghz" ;;
    crossplane) echo "$CACHE/crossplane-$CROSSPLANE_VERSION/crossplane" ;;
    crossplane-cli) echo "$CACHE/crossplane-$CROSSPLANE_VERSION/crossplane-cli" ;;
    argocd) echo "$CACHE/argocd-$ARGOCD_VERSION/argocd" ;;
    argocd-share) echo "$CACHE/argocd-$ARGOCD_VERSION/share" ;;
    function-go-templating) echo "$CACHE/function-go-templating-$GO_TEMPLATING_VERSION/function-go-templating" ;;
    crane) echo "$CACHE/crane-$CRANE_VERSION/crane" ;;
    kaniko) echo "$CACHE/kaniko-$KANIKO_VERSION/executor" ;;
    images) echo "$CACHE/images" ;;
    pypi) echo "$CACHE/pypi-$(pypi_key)" ;;
    image-list) image_specs | cut -d' ' -f1,2 ;;
    istio-harness) echo "$CACHE/istio-harness-$(istio_key)/istio-harness.test" ;;
    *) die "unknown tool $1 (want kube-apiserver, kube-controller-manager, kubectl, kubelet, kube-scheduler, etcd, ghz, kwok, kwok-stages, crossplane, crossplane-cli, argocd, argocd-share, function-go-templating, crane, kaniko, images, pypi or istio-harness)" ;;
  esac
}

need_go() {
  command -v go >/dev/null || die "Go is required to build pinned tools from the Go module proxy; install Go 1.23 or newer"
}

# Runs "$@" holding $CACHE/.locks/NAME: one build of a tool at a time, whoever else shares the cache.
with_lock() {
  local name=$1; shift
  mkdir -p "$CACHE/.locks"
  ( flock 9 && "$@" ) 9>"$CACHE/.locks/$name.lock"
}

# A throwaway module that requires $1@$2 and runs `go build` on the given packages, each into
# a temporary name in $out that is renamed into place once it is whole.
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
      local name; name=${BINARY_NAME:-$(basename "$pkg")}
      say "building $pkg ($version)"
      CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath -ldflags "$ldflags" -o "$out/.$name.tmp" "$pkg"
      mv "$out/.$name.tmp" "$out/$name"
    done
  )
}

KUBERNETES_COMMANDS="kube-apiserver kube-controller-manager kubectl kubelet kube-scheduler kube-proxy"

build_kubernetes() {
  local out; out=$(dirname "$(bin_path kube-apiserver)")
  local cmd missing=()
  for cmd in $KUBERNETES_COMMANDS; do [ -x "$out/$cmd" ] || missing+=("k8s.io/kubernetes/cmd/$cmd"); done
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
  BINARY_NAME=etcd build_in_module go.etcd.io/etcd/server/v3 "$ETCD_VERSION" "$out" "-s -w" go.etcd.io/etcd/server/v3
}

# A binary `go install`ed from the module proxy at a pinned version into the folder of $1 (a path).
go_install() {
  local out=$1 pkg=$2
  [ -x "$out" ] && { say "$(basename "$out") ($pkg): cached in $(dirname "$out")"; return; }
  need_go
  local tmp; tmp=$(mktemp -d "$(dirname "$out").XXXX")
  say "building $pkg"
  CGO_ENABLED=0 GOBIN="$tmp" go install -trimpath -ldflags "-s -w" "$pkg" || { rm -rf "$tmp"; die "cannot build $pkg from the Go module proxy"; }
  mkdir -p "$(dirname "$out")" && mv "$tmp/$(basename "${pkg%@*}")" "$out" && rm -rf "$tmp"
}

# ghz, a gRPC load generator in Go: the benchmark's client must not be the bottleneck, and a
# Node client is (its own decoding of the responses costs more than some servers' work).
build_ghz() { go_install "$(bin_path ghz)" "github.com/bojand/ghz/cmd/ghz@$GHZ_VERSION"; }

# CoreDNS, the cluster's DNS, run as Pods (its image: coredns_image). Its main package is the module's root.
build_coredns() {
  local out; out=$(dirname "$(bin_path coredns)")
  [ -x "$out/coredns" ] && { say "coredns $COREDNS_VERSION: cached in $out"; return; }
  need_go
  mkdir -p "$out"
  build_in_module github.com/coredns/coredns "$COREDNS_VERSION" "$out" "-s -w -X github.com/coredns/coredns/coremain.GitCommit=$COREDNS_VERSION" github.com/coredns/coredns
}

# helm, which installs Crossplane's chart as a platform team does.
build_helm() { go_install "$(bin_path helm)" "helm.sh/helm/v4/cmd/helm@$HELM_VERSION"; }

# KWOK (kubernetes-sigs/kwok): the simulated node make scale puts the Apps' pods on. Its stages
# (what it does to a node or pod, and when) come from the module it was built from: the fast
# node stages with a lease heartbeat, and the fast pod stages (ready, complete for a Job's pods,
# delete), which bench/scale.ts writes into its configuration.
build_kwok() {
  local out; out=$(dirname "$(bin_path kwok)")
  [ -x "$out/kwok" ] && [ -d "$out/stages" ] && { say "kwok $KWOK_VERSION: cached in $out"; return; }
  go_install "$out/kwok" "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
  local mod; mod="$(go env GOMODCACHE)/sigs.k8s.io/kwok@$KWOK_VERSION/kustomize/stage"
  [ -d "$mod" ] || die "the kwok module $KWOK_VERSION has no kustomize/stage folder in $(go env GOMODCACHE)"
  rm -rf "$out/stages.tmp" && mkdir -p "$out/stages.tmp"
  cp "$mod/node/fast/node-initialize.yaml" "$mod/node/heartbeat-with-lease/node-heartbeat-with-lease.yaml" \
    "$mod/pod/fast/pod-ready.yaml" "$mod/pod/fast/pod-complete.yaml" "$mod/pod/fast/pod-delete.yaml" "$out/stages.tmp/"
  rm -rf "$out/stages" && mv "$out/stages.tmp" "$out/stages"
}

# go-containerregistry's crane: packs the node's images and pushes them to the local registry.
build_crane() { go_install "$(bin_path crane)" "github.com/google/go-containerregistry/cmd/crane@$CRANE_VERSION"; }

# The upstream sources of Crossplane core, crossplane-runtime, the CLI and function-sdk-go, unpacked
# side by side into the cache (prints the folder). From the module proxy when it serves them;
# otherwise from the archives in $VENDOR_SRC, each checked against SHA256SUMS.
crossplane_src() {
  local dir="$CACHE/src/crossplane-$CROSSPLANE_VERSION"
  [ -f "$dir/.complete" ] && { echo "$dir"; return; }
  need_go
  rm -rf "$dir"; mkdir -p "$dir"
  local core cli
  if core=$(proxy_dir "github.com/crossplane/crossplane/v2@$CROSSPLANE_VERSION") && cli=$(proxy_dir "github.com/crossplane/cli/v2@$CROSSPLANE_VERSION"); then
    # What a user on the internet gets: core and the CLI as the proxy serves them, and their
    # dependencies (crossplane-runtime, function-sdk-go) from the proxy too, so no replace lines.
    cp -r "$core" "$dir/crossplane"; cp -r "$cli" "$dir/cli"; chmod -R u+w "$dir"
  else
    say "the Go module proxy refuses Crossplane $CROSSPLANE_VERSION (github.com/crossplane/*); using the archives in $VENDOR_SRC"
    local archive
    for archive in "crossplane-$CROSSPLANE_VERSION" "crossplane-runtime-$CROSSPLANE_RUNTIME_VERSION" "crossplane-cli-$CROSSPLANE_VERSION" "function-sdk-go-$FUNCTION_SDK_GO_VERSION"; do
      check_archive "$archive"
      tar -xzf "$VENDOR_SRC/$archive.tar.gz" -C "$dir"
    done
    mv "$dir/crossplane-${CROSSPLANE_VERSION#v}" "$dir/crossplane"
    mv "$dir/crossplane-runtime-${CROSSPLANE_RUNTIME_VERSION#v}" "$dir/crossplane-runtime"
    mv "$dir/cli-${CROSSPLANE_VERSION#v}" "$dir/cli"
    mv "$dir/function-sdk-go-${FUNCTION_SDK_GO_VERSION#v}" "$dir/function-sdk-go"
  fi
  touch "$dir/.complete"
  echo "$dir"
}

# The folder of module@version as the module proxy serves it (fails when it is refused).
proxy_dir() {
  local d
  d=$(cd "$(mktemp -d)" && GOFLAGS=-mod=mod go mod download -json "$1" 2>/dev/null | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
  [ -n "$d" ] && [ -d "$d" ] && echo "$d"
}

# Dies unless $VENDOR_SRC/NAME.tar.gz is there and matches SHA256SUMS.
check_archive() {
  [ -f "$VENDOR_SRC/SHA256SUMS" ] || die "no source archive $1: the module proxy refuses it and $VENDOR_SRC/SHA256SUMS is missing (set AEROGRID_VENDOR_SRC)"
  (cd "$VENDOR_SRC" && grep " $1.tar.gz\$" SHA256SUMS | sha256sum -c --quiet -) || die "$VENDOR_SRC/$1.tar.gz is missing or does not match SHA256SUMS"
}

# The source of module@version into DIR (once): the module proxy's when it serves that version
# and DIR/CHECK exists in it, else the checked archive ARCHIVE of the same version.
source_of() {
  local module=$1 archive=$2 dir=$3 check=$4 d
  [ -f "$dir/.complete" ] && return
  rm -rf "$dir" && mkdir -p "$dir"
  if d=$(proxy_dir "$module") && [ -e "$d/$check" ]; then
    cp -r "$d/." "$dir" && chmod -R u+w "$dir"
  else
    say "the Go module proxy does not serve $module whole; using $VENDOR_SRC/$archive.tar.gz"
    check_archive "$archive"
    tar -xzf "$VENDOR_SRC/$archive.tar.gz" -C "$dir" --strip-components=1
  fi
  touch "$dir/.complete"
}

# Every binary gets its version: core refuses every package when it reports an empty one
# ("package is not compatible with Crossplane version (): invalid semantic version"). In v2.3 the
# variable lives in crossplane-runtime; -X on a missing variable is silently ignored, so check it.
crossplane_ldflags() { echo "-s -w -X github.com/crossplane/crossplane-runtime/v2/pkg/version.version=$CROSSPLANE_VERSION"; }

# In the current folder's go.mod, points github.com/crossplane/MODULE=DIR at the unpacked archives
# (only when they were used: modules from the proxy need no replace lines).
replace_vendored() {
  [ -d ../crossplane-runtime ] || return 0
  local r args=()
  for r in "$@"; do args+=(-replace "github.com/crossplane/$r"); done
  go mod edit "${args[@]}"
}

check_crossplane_version() {
  local got; got=$("$@" 2>&1 | tail -1)
  case "$got" in *"$CROSSPLANE_VERSION") ;; *) rm -f "$1"; die "$1 reports version '$got', not $CROSSPLANE_VERSION";; esac
}

build_crossplane() {
  local out; out=$(bin_path crossplane)
  [ -x "$out" ] && { say "crossplane core $CROSSPLANE_VERSION: cached in $out"; return; }
  local src; src=$(with_lock crossplane-src crossplane_src)
  mkdir -p "$(dirname "$out")"
  say "building Crossplane core $CROSSPLANE_VERSION"
  (cd "$src/crossplane" && replace_vendored crossplane-runtime/v2=../crossplane-runtime \
    && CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath -ldflags "$(crossplane_ldflags)" -o "$out.tmp" ./cmd/crossplane) \
    || die "cannot build Crossplane core $CROSSPLANE_VERSION"
  check_crossplane_version "$out.tmp" --version
  mv "$out.tmp" "$out"
}

build_crossplane_cli() {
  local out; out=$(bin_path crossplane-cli)
  [ -x "$out" ] && { say "crossplane CLI $CROSSPLANE_VERSION: cached in $out"; return; }
  local src; src=$(with_lock crossplane-src crossplane_src)
  mkdir -p "$(dirname "$out")"
  say "building the crossplane CLI $CROSSPLANE_VERSION"
  (cd "$src/cli" && replace_vendored crossplane-runtime/v2=../crossplane-runtime crossplane/apis/v2=../crossplane/apis function-sdk-go=../function-sdk-go \
    && CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath -ldflags "$(crossplane_ldflags)" -o "$out.tmp" ./cmd/crossplane) \
    || die "cannot build the crossplane CLI $CROSSPLANE_VERSION"
  check_crossplane_version "$out.tmp" version --client
  mv "$out.tmp" "$out"
}

# function-go-templating, the most common way to write a composition function, as the peer in the
# benchmark. Its source from the module proxy when it serves it, else the checked archive; its
# github.com/crossplane/* dependencies, which the proxy refuses here, come from crossplane_src's
# archives through replace lines (as for the CLI). About a minute cold.
build_go_templating() {
  local out; out=$(bin_path function-go-templating)
  [ -x "$out" ] && { say "function-go-templating $GO_TEMPLATING_VERSION: cached in $out"; return; }
  need_go
  local src="$CACHE/src/function-go-templating-$GO_TEMPLATING_VERSION" xp
  xp=$(with_lock crossplane-src crossplane_src)
  source_of "github.com/crossplane-contrib/function-go-templating@$GO_TEMPLATING_VERSION" "function-go-templating-$GO_TEMPLATING_VERSION" "$src" go.mod
  mkdir -p "$(dirname "$out")"
  say "building function-go-templating $GO_TEMPLATING_VERSION"
  (cd "$src" && { [ ! -d "$xp/crossplane-runtime" ] || go mod edit -replace "github.com/crossplane/crossplane-runtime/v2=$xp/crossplane-runtime" \
      -replace "github.com/crossplane/crossplane/apis/v2=$xp/crossplane/apis" -replace "github.com/crossplane/function-sdk-go=$xp/function-sdk-go"; } \
    && CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath -ldflags "-s -w" -o "$out.tmp" .) \
    || die "cannot build function-go-templating $GO_TEMPLATING_VERSION"
  mv "$out.tmp" "$out"
}

# Debian's docker-registry: the local OCI registry Crossplane's package manager and the node pull from.
install_registry() {
  [ -x /usr/bin/docker-registry ] && { say "docker-registry: installed"; return; }
  apt_install docker-registry
}

# Installs Debian packages; a package's service is never started (policy-rc.d says no while apt runs).
apt_install() {
  command -v apt-get >/dev/null || die "$* required (Debian packages)"
  say "installing Debian's $*"
  local policy=/usr/sbin/policy-rc.d made=
  if [ ! -e "$policy" ]; then printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && made=1; fi
  local ok=0
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null 2>&1 \
    || { apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null; } || ok=1
  [ -z "$made" ] || rm -f "$policy"
  [ $ok -eq 0 ] || die "cannot install $*"
}

# Debian's Lua 5.1: Argo CD runs health checks with Lua 5.1 semantics.
install_lua() {
  command -v lua5.1 >/dev/null && { say "lua5.1: installed"; return; }
  apt_install lua5.1
}

# Debian's zsh and fish: the tests run `aerogrid completion zsh|fish` in the shells themselves.
install_shells() {
  command -v zsh >/dev/null || apt_install zsh
  command -v fish >/dev/null || apt_install fish
  say "zsh and fish: installed"
}

# Debian's Chromium, driven by playwright-core in the console's tests and benchmark.
install_chromium() {
  [ -x /usr/lib/chromium/chromium ] && { say "chromium: installed"; return; }
  apt_install chromium
}

# The node's runtime, from Debian (../shared/real-node/RECIPE.md): containerd 1.6, runc, the CNI
# plugins; mmdebstrap for the base images, gcc and libc6-dev for the pause binary, dnsmasq for the
# node's DNS, iproute2 for its network namespace.
NODE_PACKAGES="containerd runc containernetworking-plugins mmdebstrap dnsmasq-base gcc libc6-dev iproute2 util-linux"
install_node_packages() {
  local p missing=()
  for p in $NODE_PACKAGES; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && { say "containerd, runc, CNI plugins, mmdebstrap, dnsmasq: installed"; return; }
  apt_install "${missing[@]}"
}

# Argo CD, built from source and cached by version: one multi-call binary (ARGOCD_BINARY_NAME picks
# argocd-repo-server, argocd-application-controller, argocd-applicationset-controller). The module
# proxy serves github.com/argoproj/argo-cd/v3@v3.5.1 without the in-tree gitops-engine/ it builds
# with, so the archive of the same version is used. About 20 minutes cold on 2 cores. Also Debian's
# redis-server (Argo CD's cache) and git (the repo-server's).
build_argocd() {
  command -v redis-server >/dev/null || apt_install redis-server
  command -v git >/dev/null || apt_install git
  local out; out=$(dirname "$(bin_path argocd)")
  [ -x "$out/argocd" ] && [ -f "$out/share/VERSION" ] && { say "argocd $ARGOCD_VERSION: cached in $out"; return; }
  need_go
  local dir="$CACHE/src/argocd-$ARGOCD_VERSION"
  source_of "github.com/argoproj/argo-cd/v3@$ARGOCD_VERSION" "argo-cd-$ARGOCD_VERSION" "$dir" gitops-engine/go.mod
  say "argocd $ARGOCD_VERSION: building (about 20 minutes cold on 2 cores)"
  mkdir -p "$out"
  (cd "$dir" && GOFLAGS=-mod=mod go build -ldflags "-X github.com/argoproj/argo-cd/v3/common.version=${ARGOCD_VERSION#v}" -o "$out/argocd.tmp" ./cmd) \
    || die "argocd $ARGOCD_VERSION: the build failed"
  "$out/argocd.tmp" version --client --short 2>/dev/null | grep -q "${ARGOCD_VERSION#v}" || die "argocd $ARGOCD_VERSION: the built binary does not report its version"
  argocd_share "$dir" "$out"
  mv "$out/argocd.tmp" "$out/argocd"
  say "argocd $ARGOCD_VERSION: built"
}

# What running Argo CD out of cluster needs from its source, kept beside the binary (share/): its
# CRDs, the argocd-* ConfigMaps and Secret of a base install, and hack/git-verify-wrapper.sh, which
# the repo-server runs from PATH even with GPG off.
argocd_share() {
  local dir=$1 out=$2 share="$2/share.tmp"
  rm -rf "$share" && mkdir -p "$share/bin"
  cp -r "$dir/manifests/crds" "$share/crds"
  cp -r "$dir/manifests/base/config" "$share/config"
  cp "$dir/hack/git-verify-wrapper.sh" "$share/bin/git-verify-wrapper.sh" && chmod +x "$share/bin/git-verify-wrapper.sh"
  echo "$ARGOCD_VERSION" >"$share/VERSION"
  rm -rf "$out/share" && mv "$share" "$out/share"
}

# Argo CD's CRDs, of the Argo CD that the GitOps tier runs (prints their folder).
argocd_crds() {
  with_lock argocd build_argocd
  echo "$(bin_path argocd-share)/crds"
}

# The Kaniko executor, Chainguard's maintained fork, at the pinned version: from the module proxy
# (which serves the tag but not `go list` of the module), else the checked archive, which carries
# its vendor/ folder. About 3 minutes cold.
build_kaniko() {
  local out; out=$(bin_path kaniko)
  [ -x "$out" ] && { say "kaniko $KANIKO_VERSION: cached in $out"; return; }
  need_go
  local dir="$CACHE/src/kaniko-$KANIKO_VERSION"
  source_of "github.com/chainguard-dev/kaniko@$KANIKO_VERSION" "kaniko-$KANIKO_VERSION" "$dir" cmd/executor
  mkdir -p "$(dirname "$out")"
  say "building the Kaniko executor $KANIKO_VERSION (about 3 minutes cold)"
  local mod=mod; [ -f "$dir/vendor/modules.txt" ] && mod=vendor
  (cd "$dir" && CGO_ENABLED=0 GOFLAGS=-mod=$mod go build -trimpath \
    -ldflags "-s -w -X github.com/chainguard-dev/kaniko/pkg/version.version=$KANIKO_VERSION" -o "$out.tmp" ./cmd/executor) \
    || die "cannot build the Kaniko executor $KANIKO_VERSION"
  mv "$out.tmp" "$out"
}

# --- Images -------------------------------------------------------------------------------------
# Each image is an OCI layout in $CACHE/images/<name>-<key>/, which the platform pushes into its
# registry with crane when it starts. They are made with crane against a registry that lives only
# while they are (crane registry serve), then pulled into the layout.

images_dir() { echo "$CACHE/images"; }

# Runs "$@" with $REGISTRY pointing at a throwaway registry on loopback, stopped afterwards.
with_scratch_registry() {
  local crane; crane=$(bin_path crane)
  local port; port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  local disk; disk=$(mktemp -d)
  "$crane" registry serve --address "127.0.0.1:$port" --disk "$disk" >/dev/null 2>&1 &
  local pid=$!
  local i; for i in $(seq 50); do curl -sf "http://127.0.0.1:$port/v2/" >/dev/null 2>&1 && break; sleep 0.1; done
  local rc=0
  REGISTRY="127.0.0.1:$port" "$@" || rc=$?
  kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true
  rm -rf "$disk"
  return $rc
}

# One layer tarball (root-owned, numeric ids) made from a folder.
layer_of() { tar --owner=0 --group=0 --numeric-owner --sort=name --mtime=@0 -C "$1" -cf "$2" .; }

# Makes image $1 (a layout folder) unless it is cached: $2 is a function that builds it at
# $REGISTRY/image:build with crane, in a scratch registry.
make_image() {
  local layout=$1 builder=$2; shift 2
  [ -f "$layout/index.json" ] && { say "image $(basename "$layout"): cached"; return; }
  with_lock crane build_crane
  local crane; crane=$(bin_path crane)
  say "making image $(basename "$layout")"
  local tmp; tmp=$(mktemp -d "$layout.XXXX")
  image_in_scratch() {
    "$builder" "$tmp" "$@"
    "$crane" pull --insecure --format=oci "$REGISTRY/image:build" "$tmp/layout" >/dev/null
  }
  with_scratch_registry image_in_scratch "$@" || { rm -rf "$tmp"; die "cannot make image $(basename "$layout")"; }
  rm -rf "$layout" && mv "$tmp/layout" "$layout" && rm -rf "$tmp"
}

# crane append onto the empty base, then the config: crane leaves os/architecture empty, and
# containerd matches a single-manifest image against its platform.
crane_image() {
  local layer=$1; shift
  local crane; crane=$(bin_path crane)
  "$crane" append --insecure --oci-empty-base -f "$layer" -t "$REGISTRY/image:build" >/dev/null
  "$crane" mutate --insecure --set-platform linux/amd64 "$@" "$REGISTRY/image:build" -t "$REGISTRY/image:build" >/dev/null
}

# The pause image, from the Kubernetes source of the pinned version (build/pause/linux/pause.c).
pause_image() {
  local work=$1 src
  src=$(cd "$(mktemp -d)" && GOFLAGS=-mod=mod go mod download -json "k8s.io/kubernetes@$KUBERNETES_VERSION" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
  [ -f "$src/build/pause/linux/pause.c" ] || die "k8s.io/kubernetes@$KUBERNETES_VERSION has no build/pause/linux/pause.c"
  mkdir -p "$work/rootfs"
  gcc -Os -Wall -Werror -static -DVERSION="v$PAUSE_VERSION-$KUBERNETES_VERSION" -o "$work/rootfs/pause" "$src/build/pause/linux/pause.c"
  strip "$work/rootfs/pause"
  layer_of "$work/rootfs" "$work/layer.tar"
  crane_image "$work/layer.tar" --entrypoint /pause -u 65535:65535
}

# The Kaniko executor image, laid out as upstream's deploy/Dockerfile lays out kaniko-executor
# (without the cloud credential helpers): /kaniko/executor, CA certificates, an empty docker
# config folder, nsswitch.conf, /workspace.
kaniko_image() {
  local work=$1 r="$1/rootfs" src="$CACHE/src/kaniko-$KANIKO_VERSION"
  mkdir -p "$r/kaniko/.docker" "$r/kaniko/ssl/certs" "$r/etc" "$r/workspace" "$r/root"
  chmod 777 "$r/kaniko"
  cp "$(bin_path kaniko)" "$r/kaniko/executor"
  cp /etc/ssl/certs/ca-certificates.crt "$r/kaniko/ssl/certs/"
  cp "$src/files/nsswitch.conf" "$r/etc/nsswitch.conf"
  layer_of "$r" "$work/layer.tar"
  crane_image "$work/layer.tar" --entrypoint /kaniko/executor -w /workspace \
    -e HOME=/root -e USER=root -e PATH=/usr/local/bin:/kaniko -e SSL_CERT_DIR=/kaniko/ssl/certs -e DOCKER_CONFIG=/kaniko/.docker/
}

# go-containerregistry's crane as an image: a build Job's init container mounts the base image's
# layers into the App's repository with it (src/functions/render/build.ts), so that Kaniko never uploads them.
crane_image_of() {
  local work=$1 r="$1/rootfs"
  mkdir -p "$r/etc/ssl/certs"
  cp "$(bin_path crane)" "$r/crane"
  cp /etc/ssl/certs/ca-certificates.crt "$r/etc/ssl/certs/"
  layer_of "$r" "$work/layer.tar"
  crane_image "$work/layer.tar" --entrypoint /crane -u 65532:65532 -e SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
}

# CoreDNS as an image: the static binary alone, run as 65532 (the cluster's DNS: scripts/lib/cluster.ts).
coredns_image() {
  local work=$1 r="$1/rootfs"
  mkdir -p "$r"
  cp "$(bin_path coredns)" "$r/coredns"
  layer_of "$r" "$work/layer.tar"
  crane_image "$work/layer.tar" --entrypoint /coredns -u 65532:65532
}

# Crossplane core's image, laid out as upstream's (nix/build.nix): /bin/crossplane, the CRDs and
# webhook configurations that `crossplane core init` applies from /crds and /webhookconfigurations,
# CA certificates, passwd and group naming the nonroot user 65532, a sticky /tmp. Its chart
# (cluster/charts/crossplane) runs it; helm installs it (scripts/lib/crossplane.ts).
crossplane_image() {
  local work=$1 r="$1/rootfs" src
  src=$(with_lock crossplane-src crossplane_src)
  mkdir -p "$r/bin" "$r/etc/ssl/certs" "$r/tmp" "$r/home/nonroot" "$r/crds" "$r/webhookconfigurations"
  chmod 1777 "$r/tmp"
  cp "$(bin_path crossplane)" "$r/bin/crossplane"
  cp /etc/ssl/certs/ca-certificates.crt "$r/etc/ssl/certs/"
  cp "$src"/crossplane/cluster/crds/*.yaml "$r/crds/"
  cp "$src"/crossplane/cluster/webhookconfigurations/*.yaml "$r/webhookconfigurations/"
  printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' >"$r/etc/passwd"
  printf 'root:x:0:\nnonroot:x:65532:\n' >"$r/etc/group"
  printf 'hosts: files dns\n' >"$r/etc/nsswitch.conf"
  layer_of "$r" "$work/layer.tar"
  crane_image "$work/layer.tar" --entrypoint /bin/crossplane -u 65532 --exposed-ports 8080 \
    -e SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt -l "org.opencontainers.image.version=$CROSSPLANE_VERSION"
}

# A runtime's base image: Debian's python3 of the suite ($2), bootstrapped with mmdebstrap, and a
# virtual environment in /opt/venv first on PATH. It gives `python` and `pip` (Debian's python3
# package has no `python` command, and its system Python refuses pip installs, PEP 668), and pip
# installs the App's requirements into it as root during the build; the App runs as 10001.
# A runtime, not a system to administer: the package manager and what only it needs (apt, debconf,
# perl-base, signature verifiers, ensurepip's wheels) are purged, and glibc's iconv modules left
# out, a fifth of the size. Every build unpacks the base and rewrites it once (Kaniko's
# --reproducible), so its size is most of an edit's build time.
base_image() {
  local work=$1 suite=$2
  SOURCE_DATE_EPOCH=0 nice mmdebstrap --quiet --variant=minbase --include=python3,python3-venv,ca-certificates \
    --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/info/*' --dpkgopt='path-exclude=/usr/share/locale/*' \
    --dpkgopt='path-exclude=/usr/lib/x86_64-linux-gnu/gconv/*' \
    --customize-hook='chroot "$1" env PYTHONDONTWRITEBYTECODE=1 python3 -m venv /opt/venv' \
    --customize-hook='chroot "$1" sh -c "dpkg --purge --force-remove-essential --force-depends \$(dpkg-query -W -f \"\\\${Package}\\n\" apt debconf perl-base sqv gpgv \"libapt-pkg*\" python3-pip-whl python3-setuptools-whl 2>/dev/null)"' \
    --customize-hook='chroot "$1" /opt/venv/bin/python -c "import json, sqlite3, ssl, sys, http.server; assert sys.prefix == \"/opt/venv\""' \
    --customize-hook='chroot "$1" /opt/venv/bin/pip --version' \
    "$suite" "$work/layer.tar" "$DEBIAN_MIRROR" >&2 || die "mmdebstrap of $suite failed"
  crane_image "$work/layer.tar" --cmd python \
    -e PATH=/opt/venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin -e VIRTUAL_ENV=/opt/venv -e LANG=C.UTF-8 \
    -l "org.opencontainers.image.description=Debian $suite python3 with a virtual environment in /opt/venv (aerogrid base)"
}

# The base of aerogrid's own images (the function's and the console's): Debian trixie's Node.js
# (20.19, which package.json's engines asks for), bootstrapped with mmdebstrap, and nothing to
# administer it with (as base_image). scripts/lib/images.ts puts the compiled JavaScript and the
# production dependencies on top.
node_base_image() {
  local work=$1 suite=trixie
  SOURCE_DATE_EPOCH=0 nice mmdebstrap --quiet --variant=minbase --include=nodejs,ca-certificates \
    --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/info/*' --dpkgopt='path-exclude=/usr/share/locale/*' \
    --dpkgopt='path-exclude=/usr/lib/x86_64-linux-gnu/gconv/*' \
    --customize-hook='chroot "$1" sh -c "dpkg --purge --force-remove-essential --force-depends \$(dpkg-query -W -f \"\\\${Package}\\n\" apt debconf perl-base sqv gpgv \"libapt-pkg*\" 2>/dev/null)"' \
    --customize-hook='chroot "$1" node -e "const [a, b] = process.versions.node.split(\".\").map(Number); if (a < 20 || (a === 20 && b < 19)) process.exit(1)"' \
    "$suite" "$work/layer.tar" "$DEBIAN_MIRROR" >&2 || die "mmdebstrap of $suite with nodejs failed (or its Node.js is older than 20.19)"
  crane_image "$work/layer.tar" --cmd node -e PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin -e LANG=C.UTF-8 -e NODE_ENV=production \
    -l "org.opencontainers.image.description=Debian $suite nodejs (aerogrid base)"
}

# The image keys: a new recipe (this file's functions) or version gives a new folder.
recipe_key() { declare -f "$@" | sha256sum | cut -c1-12; }

# Each image: REF (its repository and tag in the platform's registry) LAYOUT BUILDER [ARGS...].
image_specs() {
  local dir; dir=$(images_dir)
  echo "platform/pause:$PAUSE_VERSION $dir/pause-$PAUSE_VERSION-$(recipe_key pause_image crane_image layer_of) pause_image"
  echo "platform/kaniko-executor:$KANIKO_VERSION $dir/kaniko-$KANIKO_VERSION-$(recipe_key kaniko_image crane_image layer_of) kaniko_image"
  echo "platform/crane:$CRANE_VERSION $dir/crane-$CRANE_VERSION-$(recipe_key crane_image_of crane_image layer_of) crane_image_of"
  echo "platform/crossplane:$CROSSPLANE_VERSION $dir/crossplane-$CROSSPLANE_VERSION-$(recipe_key crossplane_image crane_image layer_of) crossplane_image"
  echo "platform/coredns:${COREDNS_VERSION#v} $dir/coredns-$COREDNS_VERSION-$(recipe_key coredns_image crane_image layer_of) coredns_image"
  echo "platform/node:20-trixie $dir/node-trixie-$(recipe_key node_base_image crane_image) node_base_image"
  local pair runtime suite
  for pair in $BASE_RUNTIMES; do
    runtime=${pair%%=*}; suite=${pair#*=}
    echo "platform/python:${runtime#python} $dir/$runtime-$suite-$(recipe_key base_image crane_image) base_image $suite"
  done
}

build_images() {
  with_lock kubernetes build_kubernetes >/dev/null
  with_lock kaniko build_kaniko
  with_lock coredns build_coredns
  with_lock crossplane build_crossplane
  mkdir -p "$(images_dir)"
  local ref layout builder args
  while read -r ref layout builder args; do
    # shellcheck disable=SC2086
    with_lock "image-$(basename "$layout")" make_image "$layout" "$builder" $args
  done < <(image_specs)
}

# --- The Python package mirror ---------------------------------------------------------------
# Builds install requirements.txt from the index platform.yaml names, as a company points its
# builds at its own mirror. Locally that index is pypiserver (from PyPI), serving the wheels that
# the examples and tests need (scripts/pypi-mirror.txt), fetched once per runtime's Python.
pypi_key() { cat "$ROOT/scripts/pypi-mirror.txt" <(echo "$BASE_RUNTIMES $PYPISERVER_VERSION") | sha256sum | cut -c1-12; }

build_pypi() {
  local out; out=$(bin_path pypi)
  [ -f "$out/.complete" ] && { say "Python package mirror: cached in $out"; return; }
  command -v python3 >/dev/null || die "python3 is required to fetch the Python package mirror's wheels"
  local tmp; tmp=$(mktemp -d "$out.XXXX")
  say "fetching the Python package mirror's wheels (scripts/pypi-mirror.txt) and pypiserver $PYPISERVER_VERSION"
  # Run as venv/bin/python -m pypiserver: a venv's own scripts name the folder it was made in.
  python3 -m venv "$tmp/venv" && "$tmp/venv/bin/python" -m pip install --quiet --disable-pip-version-check "pypiserver==$PYPISERVER_VERSION" \
    || { rm -rf "$tmp"; die "cannot install pypiserver $PYPISERVER_VERSION from PyPI"; }
  local pair runtime
  for pair in $BASE_RUNTIMES; do
    runtime=${pair%%=*}
    "$tmp/venv/bin/python" -m pip download --quiet --disable-pip-version-check --dest "$tmp/packages" --only-binary=:all: \
      --python-version "${runtime#python}" --implementation cp --platform manylinux2014_x86_64 --platform manylinux_2_17_x86_64 --platform any \
      -r "$ROOT/scripts/pypi-mirror.txt" || { rm -rf "$tmp"; die "cannot download the wheels of scripts/pypi-mirror.txt for $runtime"; }
  done
  touch "$tmp/.complete"
  rm -rf "$out" && mv "$tmp" "$out"
}

# --- The Istio tier's harness ------------------------------------------------------------------
# test/istio/ is a Go test over Istio's own analyzers and config generator (test/istio.test.ts
# runs it). Its go.mod pins Istio (a development snapshot: the only Istio the module proxy serves
# with the istio.io/api and client-go it needs) and go.sum fixes every module; the binary is
# keyed by both and by the harness's source, so an edit to any of them builds a new one.
istio_key() { cat "$ROOT"/test/istio/go.mod "$ROOT"/test/istio/go.sum "$ROOT"/test/istio/*.go | sha256sum | cut -c1-12; }

build_istio_harness() {
  local bin; bin=$(bin_path istio-harness)
  [ -x "$bin" ] && { say "Istio harness: cached in $bin"; return; }
  need_go
  local version; version=$(awk '$1 == "istio.io/istio" { print $2 }' "$ROOT/test/istio/go.mod")
  say "building the Istio harness (istio.io/istio $version; about 7 minutes the first time)"
  mkdir -p "$(dirname "$bin")"
  ( cd "$ROOT/test/istio" && CGO_ENABLED=0 GOFLAGS=-mod=readonly go test -c -trimpath -o "$bin.tmp" . ) \
    || die "cannot build the Istio harness (test/istio) with istio.io/istio $version from the Go module proxy ($(go env GOPROXY))"
  mv "$bin.tmp" "$bin"
  # One harness at a time in the cache (each is about 200 MB): the ones for older sources go.
  local d; for d in "$CACHE"/istio-harness-*; do [ "$d" = "$(dirname "$bin")" ] || rm -rf "$d"; done
}

one() {
  case "$1" in
    kube-apiserver|kube-controller-manager|kubectl|kubelet|kube-scheduler|kube-proxy) with_lock kubernetes build_kubernetes ;;
    coredns) with_lock coredns build_coredns ;;
    helm) with_lock helm build_helm ;;
    kwok) with_lock kwok build_kwok ;;
    etcd) with_lock etcd build_etcd ;;
    ghz) with_lock ghz build_ghz ;;
    lua) with_lock apt install_lua ;;
    shells) with_lock apt install_shells ;;
    chromium) with_lock apt install_chromium ;;
    argocd) with_lock argocd build_argocd ;;
    argocd-crds) argocd_crds ;;
    function-go-templating) with_lock function-go-templating build_go_templating ;;
    crossplane) with_lock crossplane build_crossplane ;;
    crossplane-cli) with_lock crossplane-cli build_crossplane_cli ;;
    crossplane-src) with_lock crossplane-src crossplane_src ;;
    registry) with_lock apt install_registry ;;
    crane) with_lock crane build_crane ;;
    kaniko) with_lock kaniko build_kaniko ;;
    images) with_lock apt install_node_packages; build_images ;;
    pypi) with_lock pypi build_pypi ;;
    istio-harness) with_lock istio-harness build_istio_harness ;;
    node) with_lock apt install_node_packages; one crane; build_images; one pypi ;;
    control-plane) one etcd; one kubectl; one crossplane; one crossplane-cli; one helm; one registry; one node ;;
    test-tools) one control-plane; one lua; one shells; one chromium; one function-go-templating ;;
    all) one test-tools; one istio-harness; one argocd ;;
    *) die "usage: scripts/tools.sh [all|test-tools|control-plane|node|kube-apiserver|kube-controller-manager|kubectl|kubelet|kube-scheduler|etcd|ghz|kwok|crossplane|crossplane-cli|crossplane-src|registry|lua|shells|chromium|argocd|argocd-crds|function-go-templating|crane|kaniko|images|pypi|istio-harness|path TOOL]" ;;
  esac
}

# Several tools may be named at once: scripts/tools.sh crossplane crossplane-cli. One line, so
# that bash has read all of this file before it runs any of it (an edit during a long build
# cannot change what the running build does next).
main() { if [ "${1:-}" = path ]; then bin_path "${2:?tool name}"; return; fi; local tool; for tool in "${@:-all}"; do one "$tool"; done; }; main "$@"; exit
