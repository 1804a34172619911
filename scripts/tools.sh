#!/usr/bin/env bash
# Installs pinned third-party tools, built from the Go module proxy, into a cache outside
# the repo keyed by version. Idempotent: a tool already in the cache is not built again.
#
#   scripts/tools.sh [all|control-plane]                  build what is missing (control-plane: what make demo needs)
#   scripts/tools.sh kube-apiserver|kube-controller-manager|kubectl|etcd   one of them
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
#
# v1.32.2: the module proxy refuses some staging modules of v1.32.13 (csi-translation-lib,
# kube-controller-manager, endpointslice, cri-client) and serves all those we need at v1.32.2.
#
# Crossplane: the Go module proxy is tried first, as a user on the internet would get it. The
# proxy this project can reach refuses every github.com/crossplane/* module (403); then the
# upstream source archives in ../shared/vendor-src/ (AEROGRID_VENDOR_SRC) are checked against
# their SHA256SUMS, unpacked into the cache and used through `go mod edit -replace`.
set -euo pipefail

KUBERNETES_VERSION="${KUBERNETES_VERSION:-v1.32.2}"
ETCD_VERSION="${ETCD_VERSION:-v3.5.21}"
# Argo CD itself: v3.2.12 from the module proxy (its v3.5.x lacks the in-tree gitops-engine there);
# failing that, v3.5.1 from the checked archive in $VENDOR_SRC.
ARGOCD_BUILD_VERSION="${ARGOCD_BUILD_VERSION:-v3.2.12}"
ARGOCD_VENDOR_VERSION="${ARGOCD_VENDOR_VERSION:-v3.5.1}"
GHZ_VERSION="${GHZ_VERSION:-v0.121.0}"
# The peer in make bench (issue 20): the same platform as Go templates.
GO_TEMPLATING_VERSION="${GO_TEMPLATING_VERSION:-v0.9.2}"
# Crossplane core v2.3.4: v2.2.x rewrote resourceRefs on every reconcile of an XR that composes
# same-named objects in several namespaces (fixed upstream in v2.3.2, crossplane#7341).
CROSSPLANE_VERSION="${CROSSPLANE_VERSION:-v2.3.4}"
CROSSPLANE_RUNTIME_VERSION="${CROSSPLANE_RUNTIME_VERSION:-v2.3.3}"
FUNCTION_SDK_GO_VERSION="${FUNCTION_SDK_GO_VERSION:-v0.7.1}"
CACHE="${AEROGRID_CACHE:-$HOME/.cache/aerogrid}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENDOR_SRC="${AEROGRID_VENDOR_SRC:-$ROOT/../shared/vendor-src}"

say() { echo "tools: $*" >&2; }
die() { echo "tools: $*" >&2; exit 1; }

bin_path() {
  case "$1" in
    kube-apiserver|kube-controller-manager|kubectl) echo "$CACHE/kubernetes-$KUBERNETES_VERSION/$1" ;;
    etcd) echo "$CACHE/etcd-$ETCD_VERSION/etcd" ;;
    ghz) echo "$CACHE/ghz-$GHZ_VERSION/ghz" ;;
    crossplane) echo "$CACHE/crossplane-$CROSSPLANE_VERSION/crossplane" ;;
    crossplane-cli) echo "$CACHE/crossplane-$CROSSPLANE_VERSION/crossplane-cli" ;;
    argocd) echo "$CACHE/argocd-current/argocd" ;;
    argocd-share) echo "$CACHE/argocd-current/share" ;;
    function-go-templating) echo "$CACHE/function-go-templating-$GO_TEMPLATING_VERSION/function-go-templating" ;;
    *) die "unknown tool $1 (want kube-apiserver, kube-controller-manager, kubectl, etcd, ghz, crossplane, crossplane-cli, argocd, argocd-share or function-go-templating)" ;;
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
    [ -f "$VENDOR_SRC/SHA256SUMS" ] || die "no Crossplane sources: the module proxy refuses them and $VENDOR_SRC/SHA256SUMS is missing (set AEROGRID_VENDOR_SRC)"
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
  (cd "$VENDOR_SRC" && grep " $1.tar.gz\$" SHA256SUMS | sha256sum -c --quiet -) || die "$VENDOR_SRC/$1.tar.gz is missing or does not match SHA256SUMS"
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
  local src; src=$(crossplane_src)
  mkdir -p "$(dirname "$out")"
  say "building Crossplane core $CROSSPLANE_VERSION"
  (cd "$src/crossplane" && replace_vendored crossplane-runtime/v2=../crossplane-runtime \
    && CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath -ldflags "$(crossplane_ldflags)" -o "$out.tmp" ./cmd/crossplane) \
    || die "cannot build Crossplane core $CROSSPLANE_VERSION"
  mv "$out.tmp" "$out"
  check_crossplane_version "$out" --version
}

build_crossplane_cli() {
  local out; out=$(bin_path crossplane-cli)
  [ -x "$out" ] && { say "crossplane CLI $CROSSPLANE_VERSION: cached in $out"; return; }
  local src; src=$(crossplane_src)
  mkdir -p "$(dirname "$out")"
  say "building the crossplane CLI $CROSSPLANE_VERSION"
  (cd "$src/cli" && replace_vendored crossplane-runtime/v2=../crossplane-runtime crossplane/apis/v2=../crossplane/apis function-sdk-go=../function-sdk-go \
    && CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath -ldflags "$(crossplane_ldflags)" -o "$out.tmp" ./cmd/crossplane) \
    || die "cannot build the crossplane CLI $CROSSPLANE_VERSION"
  mv "$out.tmp" "$out"
  check_crossplane_version "$out" version --client
}

# function-go-templating, the most common way to write a composition function, as the peer in the
# benchmark. Its source from the module proxy when it serves it, else the checked archive; its
# github.com/crossplane/* dependencies, which the proxy refuses here, come from crossplane_src's
# archives through replace lines (as for the CLI). About a minute cold.
build_go_templating() {
  local out; out=$(bin_path function-go-templating)
  [ -x "$out" ] && { say "function-go-templating $GO_TEMPLATING_VERSION: cached in $out"; return; }
  need_go
  local src="$CACHE/src/function-go-templating-$GO_TEMPLATING_VERSION" xp d
  xp=$(crossplane_src)
  if [ ! -f "$src/.complete" ]; then
    rm -rf "$src" && mkdir -p "$src"
    if d=$(proxy_dir "github.com/crossplane-contrib/function-go-templating@$GO_TEMPLATING_VERSION"); then
      cp -r "$d/." "$src" && chmod -R u+w "$src"
    else
      check_archive "function-go-templating-$GO_TEMPLATING_VERSION"
      tar -xzf "$VENDOR_SRC/function-go-templating-$GO_TEMPLATING_VERSION.tar.gz" -C "$src" --strip-components=1
    fi
    touch "$src/.complete"
  fi
  mkdir -p "$(dirname "$out")"
  say "building function-go-templating $GO_TEMPLATING_VERSION"
  (cd "$src" && { [ ! -d "$xp/crossplane-runtime" ] || go mod edit -replace "github.com/crossplane/crossplane-runtime/v2=$xp/crossplane-runtime" \
      -replace "github.com/crossplane/crossplane/apis/v2=$xp/crossplane/apis" -replace "github.com/crossplane/function-sdk-go=$xp/function-sdk-go"; } \
    && CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath -ldflags "-s -w" -o "$out.tmp" .) \
    || die "cannot build function-go-templating $GO_TEMPLATING_VERSION"
  mv "$out.tmp" "$out"
}

# Debian's docker-registry: the local OCI registry Crossplane's package manager pulls from.
install_registry() {
  [ -x /usr/bin/docker-registry ] && { say "docker-registry: installed"; return; }
  apt_install docker-registry
}

apt_install() {
  command -v apt-get >/dev/null || die "$1 is required (Debian package $1)"
  say "installing Debian's $1"
  apt-get install -y -qq "$1" >/dev/null 2>&1 || { apt-get update -qq >/dev/null && apt-get install -y -qq "$1" >/dev/null; } || die "cannot install $1"
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

# Argo CD, built from source and cached by version: one multi-call binary (ARGOCD_BINARY_NAME picks
# argocd-repo-server, argocd-application-controller, argocd-applicationset-controller). The module
# proxy's source first (go mod download; its go.mod has replace lines, so `go install pkg@version`
# cannot build it), else the archive. About 20 minutes cold on 2 cores. Also Debian's redis-server
# (Argo CD's cache) and git (the repo-server's).
build_argocd() {
  command -v redis-server >/dev/null || apt_install redis-server
  command -v git >/dev/null || apt_install git
  local version
  for version in "$ARGOCD_BUILD_VERSION" "$ARGOCD_VENDOR_VERSION"; do
    if [ -x "$CACHE/argocd-$version/argocd" ] && [ -f "$CACHE/argocd-$version/share/VERSION" ]; then
      say "argocd $version: cached"; ln -sfn "argocd-$version" "$CACHE/argocd-current"; return
    fi
    if [ -x "$CACHE/argocd-$version/argocd" ] && [ -f "$CACHE/src/argocd-$version/.complete" ]; then
      argocd_share "$version" "$CACHE/src/argocd-$version"; ln -sfn "argocd-$version" "$CACHE/argocd-current"; return
    fi
  done
  need_go
  argocd_from_proxy "$ARGOCD_BUILD_VERSION" && return
  say "argocd: the module proxy's $ARGOCD_BUILD_VERSION did not build; using $VENDOR_SRC/argo-cd-$ARGOCD_VENDOR_VERSION.tar.gz"
  argocd_from_archive "$ARGOCD_VENDOR_VERSION"
}

# v3.2.12 from the proxy did not compile when this was written: controller/cache/info.go calls
# settings.ValidateExternalURL, which that module's util/settings does not define. A failed build
# is remembered, so that the next run goes to the archive at once.
argocd_from_proxy() {
  local version=$1 dir="$CACHE/src/argocd-$1" src
  [ -f "$CACHE/argocd-$version/.build-failed" ] && return 1
  if [ ! -f "$dir/.complete" ]; then
    src=$(proxy_dir "github.com/argoproj/argo-cd/v3@$version") && [ -d "$src/cmd" ] || return 1
    rm -rf "$dir" && mkdir -p "$CACHE/src" && cp -r "$src" "$dir" && chmod -R u+w "$dir" && touch "$dir/.complete"
  fi
  argocd_build "$version" "$dir" && return
  mkdir -p "$CACHE/argocd-$version" && touch "$CACHE/argocd-$version/.build-failed"
  return 1
}

argocd_from_archive() {
  local version=$1 dir="$CACHE/src/argocd-$1"
  if [ ! -f "$dir/.complete" ]; then
    check_archive "argo-cd-$version"
    rm -rf "$dir" && mkdir -p "$dir"
    tar -xzf "$VENDOR_SRC/argo-cd-$version.tar.gz" -C "$dir" --strip-components=1
    touch "$dir/.complete"
  fi
  argocd_build "$version" "$dir" || die "argocd $version: the build failed"
}

argocd_build() {
  local version=$1 dir=$2 out="$CACHE/argocd-$1"
  say "argocd $version: building (about 20 minutes cold on 2 cores)"
  mkdir -p "$out"
  (cd "$dir" && GOFLAGS=-mod=mod go build -ldflags "-X github.com/argoproj/argo-cd/v3/common.version=${version#v}" -o "$out/argocd.tmp" ./cmd) || return 1
  mv "$out/argocd.tmp" "$out/argocd"
  argocd_share "$version" "$dir"
  "$out/argocd" version --client --short 2>/dev/null | grep -q "${version#v}" || die "argocd $version: the built binary does not report its version"
  ln -sfn "argocd-$version" "$CACHE/argocd-current"
  say "argocd $version: built"
}

# What running Argo CD out of cluster needs from its source, kept beside the binary (share/): its
# CRDs, the argocd-* ConfigMaps and Secret of a base install, and hack/git-verify-wrapper.sh, which
# the repo-server runs from PATH even with GPG off.
argocd_share() {
  local version=$1 dir=$2 share="$CACHE/argocd-$1/share"
  rm -rf "$share" && mkdir -p "$share/bin"
  cp -r "$dir/manifests/crds" "$share/crds"
  cp -r "$dir/manifests/base/config" "$share/config"
  cp "$dir/hack/git-verify-wrapper.sh" "$share/bin/git-verify-wrapper.sh" && chmod +x "$share/bin/git-verify-wrapper.sh"
  echo "$version" >"$share/VERSION"
}

# Argo CD's CRDs, of the Argo CD that the GitOps tier runs (prints their folder).
argocd_crds() {
  build_argocd
  echo "$CACHE/argocd-current/share/crds"
}

one() {
  case "$1" in
    kube-apiserver|kube-controller-manager|kubectl) build_kubernetes ;;
    etcd) build_etcd ;;
    ghz) build_ghz ;;
    lua) install_lua ;;
    shells) install_shells ;;
    chromium) install_chromium ;;
    argocd) build_argocd ;;
    argocd-crds) argocd_crds ;;
    function-go-templating) build_go_templating ;;
    crossplane) build_crossplane ;;
    crossplane-cli) build_crossplane_cli ;;
    crossplane-src) crossplane_src ;;
    registry) install_registry ;;
    control-plane) build_etcd; build_kubernetes; build_crossplane; build_crossplane_cli; install_registry ;;
    all) build_etcd; build_kubernetes; build_crossplane; build_crossplane_cli; install_registry; install_lua; install_shells; install_chromium; build_argocd; build_go_templating ;;
    *) die "usage: scripts/tools.sh [all|control-plane|kube-apiserver|kube-controller-manager|kubectl|etcd|ghz|crossplane|crossplane-cli|crossplane-src|registry|lua|shells|chromium|argocd|argocd-crds|function-go-templating|path TOOL]" ;;
  esac
}

# Several tools may be named at once: scripts/tools.sh crossplane crossplane-cli
if [ "${1:-}" = path ]; then bin_path "${2:?tool name}"; exit; fi
for tool in "${@:-all}"; do one "$tool"; done
