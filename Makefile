# aerogrid: `make test` and `make demo` set up everything they need on a fresh machine.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
export NODE_OPTIONS := --experimental-vm-modules --no-warnings=ExperimentalWarning
JEST := node_modules/.bin/jest
TSX := node_modules/.bin/tsx

.PHONY: all deps node-version tools test-tools build imports typecheck check-generated unit test bench scale demo gitops-demo up down function clean

all: build

## deps: install the npm dependencies exactly as package-lock.json records them (npm ci never
## writes the lock). The lock must be complete: it carries every platform's optional bindings
## (@unrs/resolver-binding-* for jest's resolver), as npm writes them on a clean install. An
## earlier lock had only this machine's, so `npm ci` refused it ("Missing: ... from lock file")
## and `npm install` rewrote it on every fresh clone. To change dependencies: `npm install PKG`,
## then commit package.json and package-lock.json together.
deps: node-version node_modules/.aerogrid-installed
node_modules/.aerogrid-installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

## node-version: the Node.js this project is tested with (package.json engines) or newer.
node-version:
	@node -e 'const [a,b]=process.versions.node.split(".").map(Number); if (a < 20 || (a === 20 && b < 19)) { console.error("aerogrid needs Node.js 20.19 or newer (package.json engines); this is " + process.version); process.exit(1) }' \
	  || { command -v node >/dev/null || echo "aerogrid needs Node.js 20.19 or newer and npm; node is not installed" >&2; exit 1; }

## tools: build the pinned etcd, kube-apiserver, kube-controller-manager, kubectl, kubelet,
## kube-scheduler, Crossplane core and CLI, crane, Kaniko and the node's images, the Python package
## mirror, the Istio tier's harness (test/istio/), Argo CD and function-go-templating (the peer);
## install Debian's containerd, runc, CNI plugins, mmdebstrap, dnsmasq, docker-registry, lua5.1, zsh,
## fish, chromium, redis-server and git (cached in ~/.cache/aerogrid, keyed by version). test-tools:
## all of it but the Istio harness and Argo CD, which `make unit` builds beside the tests.
tools:
	bash scripts/tools.sh all

test-tools:
	bash scripts/tools.sh test-tools

## build: synthesize dist/ from src/ and platform.yaml.
build: deps
	$(TSX) src/compositions/main.ts platform.yaml dist

## imports: regenerate imports/ from the Istio CRDs (cdk8s import).
imports: deps
	bash scripts/imports.sh imports

typecheck: deps
	node_modules/.bin/tsc -p .

## check-generated: fail when `make build` or `make imports` would change what is committed.
check-generated: deps
	@tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	$(TSX) src/compositions/main.ts platform.yaml "$$tmp/dist" >/dev/null; \
	diff -r dist "$$tmp/dist" >/dev/null || { echo "dist/ is stale: run make build and commit it"; diff -r dist "$$tmp/dist" | head -40; exit 1; }; \
	bash scripts/imports.sh "$$tmp/imports" >/dev/null; \
	diff -r imports "$$tmp/imports" >/dev/null || { echo "imports/ is stale: run make imports and commit it"; exit 1; }; \
	echo "check-generated: dist/ and imports/ match their sources"

## unit: T0 (schemas, renderers, synthesis), T1 (the function process over mTLS), T2 (the
## crossplane CLI's render and validate), T3 (real Crossplane core on etcd + kube-apiserver:
## admission, reconciliation, the CLI end to end, the legacy flavour, the console in Chromium) and
## the GitOps tier (real Argo CD syncing the platform, tenants and Apps from a Git repository), the
## real node (T6) and the builds on it, and the Istio tier (Istio's analyzers and config generator
## over everything the function composes, test/istio/). The Istio harness (about 7 minutes the first
## time), then Argo CD (about 20), build in the background at the lowest priority while the other
## tiers run; those that need them run last (test/sequencer.cjs) and wait for them (scripts/tools.sh
## holds each build's lock). One file at a time: each end-to-end file starts a whole platform and
## node of its own.
unit: deps test-tools
	@mkdir -p out; nice -n 19 bash scripts/tools.sh istio-harness argocd > out/background-build.log 2>&1 & background=$$!; \
	rc=0; $(JEST) --ci --maxWorkers=1 --testSequencer=./test/sequencer.cjs || rc=$$?; \
	wait $$background || { echo "scripts/tools.sh istio-harness argocd failed (out/background-build.log):"; tail -20 out/background-build.log; exit 1; }; \
	exit $$rc

## test: every tier that runs on this machine.
test: typecheck check-generated unit

## bench: RunFunction throughput and latency against the SDK baseline and against the peer,
## function-go-templating with bench/peers/app.gotmpl, loaded by ghz, then the function's peak memory under distinct inputs, then the real node
## (push and edit to an HTTP answer, Kaniko's memory, the node idle), then the in-cluster install (empty cluster to
## the example Tenant Ready, the platform at rest pod by pod), then the console's Save-to-phase-change time and
## script size in Chromium, with the README's screenshots, then Argo CD from root.yaml and from a
## Git commit to Healthy, against kubectl (writes bench/RESULTS.md, docs/console/).
bench: deps
	bash scripts/tools.sh ghz function-go-templating
	$(TSX) bench/function.ts
	$(TSX) bench/memory.ts
	bash scripts/tools.sh control-plane chromium
	$(TSX) bench/node.ts
	$(TSX) bench/install.ts
	$(TSX) bench/console.ts
	bash scripts/tools.sh argocd
	$(TSX) bench/gitops.ts

## scale: 50 Tenants and 1,000 Apps on the real platform (Crossplane from its chart reconciling,
## the Apps' pods on a simulated KWOK node), 10 minutes of steady state, bursts of 100 edits
## (one with the function killed, one with two function replicas); about 30 minutes. Writes
## bench/RESULTS.md (scale) and bench/scale-*.png.
scale: deps
	bash scripts/tools.sh control-plane ghz kwok
	$(TSX) bench/scale.ts

## gitops-demo: Argo CD syncs aerogrid from a local Git repository onto real Crossplane, from
## root.yaml to a Healthy App, then a commit to the new build serving (KEEP=1 leaves it running).
gitops-demo: deps
	$(TSX) scripts/gitops-demo.ts

## function: run the function locally without TLS (for development).
function: deps
	node bin/aerogrid-function.js --insecure --debug --address 127.0.0.1:9443

## demo: the main job, end to end on this machine, with Crossplane core reconciling
## (KEEP=1 leaves the control plane running). Builds only what it needs (tools.sh control-plane).
demo: deps
	$(TSX) scripts/demo.ts

## up: make demo, left running in the background: prints a developer's KUBECONFIG and the CLI
## commands to try (the README's CLI section). down: stops it.
up: deps
	$(TSX) scripts/up.ts start

down: deps
	$(TSX) scripts/up.ts stop

clean:
	rm -rf node_modules out
