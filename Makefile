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
# Two tests whose ranks are threads that load models at the same moment are left out too: loading forks a
# child for the ONNX checker, and under this GCC's AddressSanitizer a child forked while another thread
# holds the sanitizer's allocator lock waits on it forever (glibc's malloc, in the Release build, resets
# its locks at fork). They pass in the Release suite.
# serve_mpi runs apart: Open MPI's runtime leaves allocations at exit (tools/sanitize/lsan.supp), and
# naming their libraries takes the slow unwinder at every malloc, too slow for the rest of the suite.
SANITIZE_EXCLUDE := ^(model|dist|tp_threads|plan_command|serve_models|serve_grpc_models|serve_load_smoke|serve_mpi)|DataGroupsOfPipelinesStreamTheirSlices|MoreRanksThanHeadsIsAnErrorOnEveryRank
SANITIZE_ENV := UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 LSAN_OPTIONS=suppressions=$(CURDIR)/tools/sanitize/lsan.supp
test-sanitize:
	@test -f build-asan/build.ninja || cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTESSERA_SANITIZE=ON
	cmake --build build-asan -j $(JOBS)
	cd build-asan && $(SANITIZE_ENV) ASAN_OPTIONS=detect_leaks=1 ctest --output-on-failure -j $(JOBS) -E '$(SANITIZE_EXCLUDE)'
	cd build-asan && $(SANITIZE_ENV) ASAN_OPTIONS=detect_leaks=1:fast_unwind_on_malloc=0 \
	  OMPI_MCA_mca_base_component_disable_dlclose=1 PMIX_MCA_mca_base_component_disable_dlclose=1 \
	  ctest --output-on-failure -R '^serve_mpi$$'

demo: deps
	$(MAKE) all
	bash scripts/demo.sh $(BUILD_DIR)

clean:
	rm -rf $(BUILD_DIR)
