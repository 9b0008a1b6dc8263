# The quick start: `make demo` runs the main job, `make test` the whole suite.
# Both install what they need first (.ci/setup) and build with meson.
BUILD ?= build

.PHONY: all deps demo test bench fuzz coverage lint abi-baseline install clean
FUZZ_SECONDS ?= 60

all: deps
	@[ -f $(BUILD)/build.ninja ] || meson setup $(BUILD)
	meson compile -C $(BUILD)

deps:
	@sh .ci/setup

# The main job: naive vs optimised on the bundled support-agent workload.
demo: all
	@$(BUILD)/tokenomy simulate --workload support-agent

test: deps
	@sh tests/run.sh

bench: all
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
lint: all
	@sh tests/lint/run.sh $(BUILD)

# Regenerate the ABI baseline on purpose, after an intended ABI change.
abi-baseline: all
	abidw --no-corpus-path --no-show-locs --no-comp-dir-path --short-locs --headers-dir include/tokenomy \
	  --out-file tests/abi/tokenomy.abi $(BUILD)/libtokenomy.so

install: all
	meson install -C $(BUILD)

clean:
	rm -rf $(BUILD) build-*
