# Top-level entry points. `make` builds build/tessera (Release); `make test` installs dependencies,
# builds and runs every test; `make demo` installs, builds and runs the bundled example model.
BUILD_DIR ?= build
JOBS ?= $(shell nproc)
PY := /usr/bin/python3

.PHONY: all deps configure test demo clean

all: configure
	cmake --build $(BUILD_DIR) -j $(JOBS)

configure:
	@test -f $(BUILD_DIR)/build.ninja || cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Release

deps:
	bash scripts/install-deps.sh

test: deps
	$(MAKE) all
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS)

demo: deps
	$(MAKE) all
	bash scripts/demo.sh $(BUILD_DIR)

clean:
	rm -rf $(BUILD_DIR)
