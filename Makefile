# aerogrid: `make test` and `make demo` set up everything they need on a fresh machine.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
export NODE_OPTIONS := --experimental-vm-modules --no-warnings=ExperimentalWarning
JEST := node_modules/.bin/jest
TSX := node_modules/.bin/tsx

.PHONY: all deps tools build imports typecheck check-generated unit test bench demo function clean

all: build

## deps: install the npm dependencies as locked (only when the lock changed). npm 11 writes
## lock files without other platforms' optional bindings and then refuses them in `npm ci`;
## `npm install` on an up-to-date lock installs exactly what it records.
deps: node_modules/.aerogrid-installed
node_modules/.aerogrid-installed: package.json package-lock.json
	npm install --no-audit --no-fund --loglevel=error
	touch $@

## tools: build the pinned etcd, kube-apiserver and kubectl (cached in ~/.cache/aerogrid).
tools:
	bash scripts/tools.sh all

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

## unit: T0 (schemas, renderers, synthesis), T1 (the function process over mTLS) and
## the admission tier (a real etcd and kube-apiserver).
unit: deps tools
	$(JEST) --ci

## test: every tier that runs on this machine.
test: typecheck check-generated unit

## bench: RunFunction throughput and latency against the SDK baseline, loaded by ghz
## (writes bench/RESULTS.md).
bench: deps
	bash scripts/tools.sh ghz
	$(TSX) bench/function.ts

## function: run the function locally without TLS (for development).
function: deps
	node bin/aerogrid-function.js --insecure --debug --address 127.0.0.1:9443

## demo: the main job, end to end on this machine.
demo: deps
	$(TSX) scripts/demo.ts

clean:
	rm -rf node_modules out
