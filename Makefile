# rnnc — the two quick-start commands are `make demo` and `make test`; both do all set-up first.
MAKEFLAGS += --no-print-directory
BUILD ?= build
ASAN_BUILD ?= build-asan
JOBS ?= $(shell nproc)
RNNC = $(BUILD)/rnnc

.PHONY: all deps deps-bench data onnxruntime build install test test-unit sanitize fuzz demo bench clean

all: build

deps:
	@bash scripts/install-deps.sh

deps-bench:
	@bash scripts/install-deps.sh --bench

data: deps
	@bash scripts/fetch-data.sh

# ONNX Runtime for node (npm onnxruntime-node, pinned in tools/onnx/): the ONNX export test runs
# rnnc's exported graphs in it, and bench/onnx_vs_rnnc.sh times it.
onnxruntime: deps
	@bash scripts/install-onnxruntime.sh

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release >/dev/null
	@cmake --build $(BUILD) -j$(JOBS)

# librnnc.so and .a, the headers, rnnc.pc, the CMake package, the rnnc binary and its man pages
# under PREFIX (the same as cmake --install build --prefix PREFIX).
PREFIX ?= /usr/local
install: build
	@cmake --install $(BUILD) --prefix $(PREFIX)

# The whole test suite (unit, golden, CLI, bad-input tests) on the release build.
test: build data onnxruntime
	@cd $(BUILD) && ctest --output-on-failure -j$(JOBS)

# The unit tests under AddressSanitizer + UndefinedBehaviorSanitizer (clang, no -march=native), at -O1:
# the learning tests (seq2seq tasks, training runs) take many minutes at -O0. Then test_nn again in a
# -march=native sanitizer build, for the kernels only such a build has (AVX-512 on such a host).
sanitize: deps data onnxruntime
	@CC=clang cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_FLAGS_RELWITHDEBINFO='-O1 -g' -DRNNC_SANITIZE=ON >/dev/null
	@cmake --build $(ASAN_BUILD) -j$(JOBS)
	@cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 ctest --output-on-failure -j$(JOBS)
	@# the build above is portable (no -march=native), so the code only a native build compiles
	@# (AVX-512 kernels on such a host, the cells' AVX2 lanes) is checked in a second, native one:
	@# test_nn holds the kernels, test_rnn the cells
	@CC=clang cmake -S . -B $(ASAN_BUILD)-native -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_FLAGS_RELWITHDEBINFO='-O1 -g' -DCMAKE_C_FLAGS='-march=native' -DRNNC_SANITIZE=ON >/dev/null
	@cmake --build $(ASAN_BUILD)-native -j$(JOBS) --target test_nn test_rnn
	@cd $(ASAN_BUILD)-native && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 ctest --output-on-failure -R '^test_(nn|rnn)$$'

# libFuzzer targets, each for a short bounded time (FUZZ_SECONDS).
FUZZ_SECONDS ?= 20
fuzz: deps data
	@bash scripts/run-fuzzers.sh $(FUZZ_SECONDS)

# The main job: see README.md.
demo: build data
	@bash scripts/demo.sh

bench: build data deps-bench
	@bash bench/run.sh

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) build-fuzz
