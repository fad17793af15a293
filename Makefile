# The README's commands. Each installs what it needs (scripts/install-deps.sh), then builds.
BUILD ?= build
PORT ?= 8080
DATA_DIR ?= ./data
JOBS ?= $(shell nproc)

.PHONY: all build run test bench sanitize tsan clean

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

# The whole suite under ThreadSanitizer (the writer, checkpointer, dispatcher and I/O threads).
# halt_on_error: a race fails the test that met it.
tsan:
	scripts/install-deps.sh test
	cmake -S . -B build-tsan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTB_SANITIZE=thread -DTB_BENCHMARKS=OFF
	cmake --build build-tsan -j $(JOBS)
	TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" ctest --test-dir build-tsan --output-on-failure -j $(JOBS)

clean:
	rm -rf $(BUILD) build-asan build-tsan
