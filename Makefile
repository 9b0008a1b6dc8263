# The targets a maintainer expects:
#   make         build (library, CLI, tests) with the build dependencies only
#   make unit    the unit suite, for the edit loop (seconds on a built tree)
#   make demo    what the demo needs, then the demo
#   make test    the complete suite CI runs (.ci/run), installing every peer first
# Each first checks its Debian packages (.ci/setup build|demo|test) and builds
# with meson in $(BUILD).
BUILD ?= build

.PHONY: all build deps unit demo test bench fuzz coverage lint abi-baseline install clean
FUZZ_SECONDS ?= 60

all: build

build:
	@sh .ci/setup build
	@[ -f $(BUILD)/build.ninja ] || meson setup $(BUILD)
	meson compile -C $(BUILD)

# Everything `make test` needs, installed ahead (e.g. in a CI image).
deps:
	@sh .ci/setup test

unit: build
	meson test -C $(BUILD) --suite unit --print-errorlogs

# The main job: the simulation against its fair baselines (quality and spread
# over 10 seeds), then the replay of 100 real recorded agent runs
# (data/traces, MIT), its HTML page written to $(BUILD)/replay.html.
demo:
	@sh .ci/setup demo
	@[ -f $(BUILD)/build.ninja ] || meson setup $(BUILD)
	meson compile -C $(BUILD) tokenomy:executable
	@echo '$$ tokenomy simulate --workload support-agent'
	@$(BUILD)/tokenomy simulate --workload support-agent
	@echo
	@echo '$$ tokenomy replay data/traces/tau-airline-dev.json'
	@$(BUILD)/tokenomy replay data/traces/tau-airline-dev.json --html $(BUILD)/replay.html
	@echo "(the replay as an HTML page: $(BUILD)/replay.html)"

test:
	@sh .ci/setup test
	@sh tests/run.sh

bench: build
	meson test -C $(BUILD) --benchmark --verbose

# Each libFuzzer harness for FUZZ_SECONDS (clang, address + undefined sanitizers).
fuzz: deps
	@[ -f build-fuzz/build.ninja ] || CC=clang meson setup build-fuzz -Dfuzz=true \
	  -Db_sanitize=address,undefined -Db_lundef=false -Dfuzz_seconds=$(FUZZ_SECONDS)
	meson configure build-fuzz -Dfuzz_seconds=$(FUZZ_SECONDS)
	meson test -C build-fuzz --suite fuzz --num-processes 1 --verbose

# Line and branch coverage of src/ by the unit suite (gcc, gcovr); fails under
# 90% of lines or 80% of branches.  Per-file tables in build-cov/coverage*.txt.
coverage: deps
	@sh tests/coverage.sh build-cov

# cppcheck and clang-tidy over src/ (configurations in tests/lint/).
lint: deps build
	@sh tests/lint/run.sh $(BUILD)

# Regenerate the ABI baseline on purpose, after an intended ABI change.
abi-baseline: deps build
	abidw --no-corpus-path --no-show-locs --no-comp-dir-path --short-locs --headers-dir include/tokenomy \
	  --out-file tests/abi/tokenomy.abi $(BUILD)/libtokenomy.so

install: build
	meson install -C $(BUILD)

clean:
	rm -rf $(BUILD) build-*
