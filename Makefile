# The quick start: `make demo` runs the main job, `make test` the whole suite.
# Both install what they need first (.ci/setup) and build with meson.
BUILD ?= build

.PHONY: all deps demo test bench abi-baseline install clean

all: deps
	@[ -f $(BUILD)/build.ninja ] || meson setup $(BUILD)
	meson compile -C $(BUILD)

deps:
	@sh .ci/setup

demo: all
	@$(BUILD)/examples/tokenomy-demo

test: deps
	@sh tests/run.sh

bench: all
	meson test -C $(BUILD) --benchmark --verbose

# Regenerate the ABI baseline on purpose, after an intended ABI change.
abi-baseline: all
	abidw --no-corpus-path --no-show-locs --headers-dir include/tokenomy \
	  --out-file tests/abi/tokenomy.abi $(BUILD)/libtokenomy.so

install: all
	meson install -C $(BUILD)

clean:
	rm -rf $(BUILD) build-*
