# Top-level entry points. `make` builds build/tessera (Release); `make test` installs dependencies,
# builds and runs every test; `make demo` installs, builds and runs the bundled example model.
BUILD_DIR ?= build
JOBS ?= $(shell nproc)
PY := /usr/bin/python3

.PHONY: all deps configure test test-sanitize demo clean

all: configure
	cmake --build $(BUILD_DIR) -j $(JOBS)

configure:
	@test -f $(BUILD_DIR)/build.ninja || cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Release

deps:
	bash scripts/install-deps.sh

test: deps
	$(MAKE) all
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS)

# Unit, command-line and conformance tests again under AddressSanitizer and UBSan (the suites that run
# exported models, model/dist/tp_threads/plan and the serving ones that load models, are left to the
# Release build, whose tree holds the models). Not part of `make test`: the sanitized rebuild of the
# kernels takes longer on 2 cores than the whole Release build and test run, so CI stays on the Release
# suite and this (with the fuzzer in tools/fuzz) is run before landing kernel changes.
test-sanitize:
	@test -f build-asan/build.ninja || cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTESSERA_SANITIZE=ON
	cmake --build build-asan -j $(JOBS)
	cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --output-on-failure -j $(JOBS) \
	  -E '^(model|dist|tp_threads|plan_command|serve_models|serve_grpc_models|serve_load_smoke)'

demo: deps
	$(MAKE) all
	bash scripts/demo.sh $(BUILD_DIR)

clean:
	rm -rf $(BUILD_DIR)
