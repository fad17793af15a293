# The README's commands. Each installs what it needs (scripts/install-deps.sh), then builds.
BUILD ?= build
PORT ?= 8080
DATA_DIR ?= ./data
JOBS ?= $(shell nproc)

.PHONY: all build run test bench sanitize tsan fuzz clean

all: build

$(BUILD)/build.ninja:
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release

build:
	scripts/install-deps.sh test
	$(MAKE) --no-print-directory $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS)

run: build
	$(BUILD)/ticket-booking serve --host 127.0.0.1 --port $(PORT) --data-dir $(DATA_DIR)

test: build
	ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS)

bench:
	scripts/install-deps.sh bench
	$(MAKE) --no-print-directory build
	bash bench/run.sh

# The whole suite under AddressSanitizer and UndefinedBehaviorSanitizer.
sanitize:
	scripts/install-deps.sh test
	cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DTB_SANITIZE=address,undefined -DTB_BENCHMARKS=OFF
	cmake --build build-asan -j $(JOBS)
	ctest --test-dir build-asan --output-on-failure -j $(JOBS)

# The whole suite under ThreadSanitizer (the writer, completer, checkpointer, dispatcher and I/O
# threads). halt_on_error: a race fails the test that met it. Reports go to build-tsan/reports.*,
# also those of the servers the end-to-end tests start, whose exit status a test may not read:
# any report fails the run, and is printed.
tsan:
	scripts/install-deps.sh test
	cmake -S . -B build-tsan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTB_SANITIZE=thread -DTB_BENCHMARKS=OFF
	cmake --build build-tsan -j $(JOBS)
	rm -f build-tsan/reports.*
	TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 log_path=$(CURDIR)/build-tsan/reports" \
	  ctest --test-dir build-tsan --output-on-failure -j $(JOBS); status=$$?; \
	  if ls build-tsan/reports.* >/dev/null 2>&1; then cat build-tsan/reports.*; \
	    echo "ThreadSanitizer reported the above"; exit 1; fi; exit $$status

# Each libFuzzer target for FUZZ_SECONDS (clang, AddressSanitizer, UndefinedBehaviorSanitizer).
# A run starts from the kept corpus (tests/fuzz/corpus/TARGET) and merges back only the inputs
# that reach new code; a finding stops it, its input saved as build-fuzz/findings/TARGET-*.
FUZZ_SECONDS ?= 20
FUZZ_TARGETS = fuzz_http_router fuzz_decimal fuzz_aws_events fuzz_aws_responses
fuzz:
	scripts/install-deps.sh fuzz
	CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DTB_FUZZ=ON -DTB_SANITIZE=address,undefined -DTB_BENCHMARKS=OFF
	cmake --build build-fuzz -j $(JOBS) --target $(FUZZ_TARGETS)
	mkdir -p build-fuzz/findings
	set -e; for t in $(FUZZ_TARGETS); do \
	  rm -rf build-fuzz/corpus/$$t; mkdir -p build-fuzz/corpus/$$t; \
	  UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 build-fuzz/tests/fuzz/$$t \
	    -max_total_time=$(FUZZ_SECONDS) -max_len=65536 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
	    -artifact_prefix=build-fuzz/findings/$$t- build-fuzz/corpus/$$t tests/fuzz/corpus/$$t; \
	  build-fuzz/tests/fuzz/$$t -merge=1 tests/fuzz/corpus/$$t build-fuzz/corpus/$$t 2>/dev/null; \
	done

clean:
	rm -rf $(BUILD) build-asan build-tsan build-fuzz
