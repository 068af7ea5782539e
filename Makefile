# Everyday commands. `make test` is the test command CI runs (.ci/run).
.PHONY: all build deps test test-fast quickstart sandbox clean asan

all: build

deps:
	bash scripts/install-deps.sh

build:
	bash scripts/build.sh

test:
	bash scripts/test.sh

# specs only, no install step (for a machine that already ran `make test`)
test-fast:
	MC_SKIP_DEPS=1 bash scripts/test.sh

quickstart:
	bash scripts/quickstart.sh

sandbox: build
	bin/mediacdn-sandbox

asan:
	MC_SANITIZE=1 bash scripts/build.sh

clean:
	rm -rf build build.luarocks

# --- hardening (issue 18) ------------------------------------------------
.PHONY: check-asan check-valgrind fuzz lint bench soak

# C tests + the whole busted suite, both VMs, ASan+UBSan (scripts/check-asan.sh)
check-asan:
	bash scripts/check-asan.sh

# valgrind memcheck: C tests + in-process unit specs, both VMs
check-valgrind:
	bash scripts/check-valgrind.sh

# libFuzzer targets fuzz/fuzz_*.c, FUZZ_SECONDS (default 60) each (scripts/fuzz.sh)
fuzz:
	bash scripts/fuzz.sh

# luacheck (.luacheckrc) + C warnings with -Wconversion (scripts/lint.sh)
lint:
	bash scripts/lint.sh

# the fault soak: 10,000 mixed operations against the sandbox with random faults (scripts/soak.sh)
soak:
	bash scripts/soak.sh

# every benchmark row against its baseline, one table of ratios (bench/run.sh)
bench:
	bash bench/run.sh
