# Obsim: the two commands are `make run` and `make test`; both install what they need first.
SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -c
SWIFT ?= swift
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
RELEASE_BIN := .build/release/obsim
# One optimised build serves `make run` and `make test`: compiled with testing enabled, the tests'
# `@testable import`s link against the same modules, so a first `make run` then `make test` compiles the
# project once (plus the test targets), not once in release and again in debug.
BUILD := -c release -Xswiftc -enable-testing
PREFIX ?= /usr/local

.PHONY: deps build release run install test bench bench-simpy check-timing fuzz clean

# GSL, CFITSIO and pkg-config come from Debian's packages when pkg-config cannot find them.
deps:
	@if ! command -v pkg-config >/dev/null 2>&1 || ! pkg-config --exists gsl cfitsio; then \
		echo "installing libgsl-dev libcfitsio-dev pkg-config with apt-get"; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq libgsl-dev libcfitsio-dev pkg-config; \
	fi

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build $(BUILD)

# The default study: the LATISS weekly calibrations as the document runs them, 1,000 Monte Carlo trials;
# the report (report.html, summary.md, summary.json, trials.csv) lands in Reports/latiss-weekly/.
run: release
	$(RELEASE_BIN) run Scenarios/latiss-weekly.yaml

# The binary needs no files beside it (GSL and cfitsio are shared libraries found by the loader).
install: release
	install -d "$(PREFIX)/bin"
	install -m 0755 $(RELEASE_BIN) "$(PREFIX)/bin/obsim"

# Zero warnings in our own code is part of passing: the build log is checked for any warning under
# Sources/ or Tests/ (dependencies' warnings are theirs).
# The tests are Swift Testing only; --disable-xctest skips the empty XCTest pass and its misleading
# "Executed 0 tests" line.
test: deps
	@mkdir -p .build
	$(SWIFT) build $(BUILD) --build-tests 2>&1 | tee .build/test-build.log
	@if grep -E "/(Sources|Tests)/[^:]+:[0-9]+:[0-9]+: warning:" .build/test-build.log; then \
		echo "make test: compiler warnings in Obsim's code (listed above)"; exit 1; fi
	$(SWIFT) test $(BUILD) --skip-build --disable-xctest

# Optional: needs the independent SimPy reference program, `make bench-simpy REF=PATH/simpy_bench.py`.
bench-simpy:
	REF="$(REF)" tools/bench-vs-simpy.sh

# Re-runs every scenario that has a baseline under Scenarios/baselines/ and fails when a step's or the
# total's timing distribution moved beyond tolerance, or the event sequence changed.
check-timing: release
	$(RELEASE_BIN) check

bench: release
	$(RELEASE_BIN) bench kernel --runs 5
	$(RELEASE_BIN) bench kernel --workload mmc --runs 3

# libFuzzer over every input parser (scenario, block file, OB file, part state), FUZZ_SECONDS each
# (default 60), seeded from Fuzz/corpus/, Scenarios/ and Sequences/; new inputs go to .build/fuzz-corpus/,
# crashes to .build/fuzz-crashes/.
# Its own build folder, with sanitizers, so the normal build is untouched. Leak checks are off: lazily
# initialised globals (procedure schemas) live until exit by design.
FUZZ_SECONDS ?= 60
fuzz: deps
	OBSIM_FUZZ=1 $(SWIFT) build --build-path .build/fuzz -Xswiftc -sanitize=fuzzer,address \
		--product FuzzScenario
	OBSIM_FUZZ=1 $(SWIFT) build --build-path .build/fuzz -Xswiftc -sanitize=fuzzer,address --product FuzzBlock
	OBSIM_FUZZ=1 $(SWIFT) build --build-path .build/fuzz -Xswiftc -sanitize=fuzzer,address --product FuzzOB
	OBSIM_FUZZ=1 $(SWIFT) build --build-path .build/fuzz -Xswiftc -sanitize=fuzzer,address --product FuzzState
	@mkdir -p .build/fuzz-corpus/scenario .build/fuzz-corpus/block .build/fuzz-corpus/ob .build/fuzz-corpus/state .build/fuzz-crashes
	ASAN_OPTIONS=detect_leaks=0 .build/fuzz/debug/FuzzScenario -max_total_time=$(FUZZ_SECONDS) -max_len=8192 -rss_limit_mb=2048 -timeout=10 \
		-artifact_prefix=.build/fuzz-crashes/scenario- .build/fuzz-corpus/scenario Fuzz/corpus/scenario Scenarios
	ASAN_OPTIONS=detect_leaks=0 .build/fuzz/debug/FuzzBlock -max_total_time=$(FUZZ_SECONDS) -max_len=16384 -rss_limit_mb=2048 -timeout=10 \
		-artifact_prefix=.build/fuzz-crashes/block- .build/fuzz-corpus/block Sequences
	ASAN_OPTIONS=detect_leaks=0 .build/fuzz/debug/FuzzOB -max_total_time=$(FUZZ_SECONDS) -max_len=16384 -rss_limit_mb=2048 -timeout=10 \
		-artifact_prefix=.build/fuzz-crashes/ob- .build/fuzz-corpus/ob Sequences
	ASAN_OPTIONS=detect_leaks=0 .build/fuzz/debug/FuzzState -max_total_time=$(FUZZ_SECONDS) -max_len=65536 -rss_limit_mb=2048 -timeout=10 \
		-artifact_prefix=.build/fuzz-crashes/state- .build/fuzz-corpus/state Fuzz/corpus/state

clean:
	rm -rf .build
