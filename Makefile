# Herald — the two commands a newcomer needs are `make test` and `make demo` (see README.md).
SHELL := /bin/bash
SWIFT ?= swift
FUZZ_RUNS ?= 100000
FUZZ_BUILD := .build-fuzz

.PHONY: cluster-up cluster-down image test deps lint format build unit-test fuzz-smoke fuzz bench bench-gossip bench-failover bench-build demo clean release runtime-check

## test: install missing system packages, build everything (the image too), run every test — unit, against
##       a real apiserver, in the lab, and on a real cluster — and a bounded fuzz run, and build the
##       benchmarks so they cannot rot (running them is `make bench`)
test: deps lint build runtime-check image unit-test fuzz-smoke bench-build
	@scripts/test-summary .build/unit-test.log .build/lab-test.log .build/cluster-test.log

deps:
	scripts/install-deps

## lint: swift-format's layout and at most 120 columns in Sources and Package.swift (scripts/lint)
lint:
	SWIFT=$(SWIFT) scripts/lint

## format: apply swift-format's layout (.swift-format) to Sources and Package.swift
format:
	$(SWIFT) format format --configuration .swift-format -i -r -p Sources Package.swift

build: deps
	$(SWIFT) build --build-tests

## unit-test: every Swift test, with a real kube-apiserver (scripts/dev-cluster), the lab (scripts/lab) and,
##            when `make image` has built the image, a real cluster (scripts/cluster) started for the run
unit-test: build
	SWIFT=$(SWIFT) scripts/run-tests

## fuzz-smoke: each fuzzer over its seed corpus plus $(FUZZ_RUNS) generated inputs (bounded, part of `make test`)
fuzz-smoke: deps
	scripts/fuzz $(FUZZ_RUNS)

## fuzz: a longer run (FUZZ_RUNS=5000000 make fuzz)
fuzz: FUZZ_RUNS = 5000000
fuzz: fuzz-smoke

## bench: run the benchmarks and print their tables (Benchmarks/ is a separate package)
bench:
	cd Benchmarks && $(SWIFT) package --disable-sandbox benchmark --no-progress

## bench-gossip: the membership table from the simulator (detection time, false deaths, traffic)
bench-gossip:
	scripts/bench-gossip

## bench-build: the benchmarks compiled (debug: a third faster than release, and what `make test` needs to keep
##              them from rotting; `make bench` builds them in release to run them)
bench-build:
	cd Benchmarks && $(SWIFT) build

## release: the release binaries the image ships (Swift's runtime linked in statically), in .build/release
release: deps
	$(SWIFT) build -c release --static-swift-stdlib --product herald-speaker
	$(SWIFT) build -c release --static-swift-stdlib --product herald-controller

## image: Herald's image from the Dockerfile with buildah, no registry (scripts/image): localhost/herald:dev,
##        also written as .build/image/herald-dev.tar for `ctr images import`
image: release
	scripts/image herald

## runtime-check: the release binaries run with only the Dockerfile's runtime packages (scripts/check-runtime)
runtime-check: release
	scripts/check-runtime .build/release

## cluster-up / cluster-down: the local etcd + kube-apiserver (scripts/dev-cluster; prints the KUBECONFIG to use)
cluster-up:
	scripts/dev-cluster up

cluster-down:
	scripts/dev-cluster down

## demo: the main job on a fresh machine, as root: a real three-node cluster (scripts/cluster), Herald installed
##       from its image with kubectl apply -k, a Service answered over HTTP through EXTERNAL-IP, the owner node
##       killed, the failover measured, everything removed (scripts/demo)
demo: deps image
	SWIFT=$(SWIFT) scripts/demo

## bench-failover: crash and graceful failovers in the lab at 3 and 10 nodes, as a table (scripts/bench-failover)
bench-failover:
	scripts/bench-failover

clean:
	rm -rf .build $(FUZZ_BUILD) Benchmarks/.build Tests/Fuzz/.build
