# Convenience entry points; the build itself is CMake.
#   make demo   install what is missing, build, run a 3-node private pipeline
#   make test   install what is missing, build, run the whole CTest suite
#   make bench  run the benchmarks (long; not part of CI)
#   make report regenerate the plots in docs/
BUILD ?= build
JOBS ?= $(shell nproc)

.PHONY: all setup build demo test bench report asan clean

all: build

setup:
	@bash scripts/setup.sh

build: setup
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release >/dev/null
	@cmake --build $(BUILD) -j$(JOBS)

demo: build
	BUILD=$(BUILD) bash scripts/demo.sh

test: build
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS)

asan: setup
	@cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DVEIL_SANITIZE=ON >/dev/null
	@cmake --build build-asan -j$(JOBS)
	cd build-asan && ctest --output-on-failure -j$(JOBS)

bench: build
	bash bench/run.sh

report: build
	bash scripts/report.sh

clean:
	rm -rf $(BUILD) build-asan
