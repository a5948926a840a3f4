# fabplan's build. Everything needs only Go; the blob state tests also need Node.js with npm, and install
# Azurite (the Azure Storage emulator) into the git-ignored .tools/azurite the first time they run.
GO      ?= go
BIN     := bin/fabplan

.PHONY: build demo test azurite lint bench fmt clean

build:
	$(GO) build -o $(BIN) ./cmd/fabplan

# The main job: the demo plan against the embedded emulator (no Azure account needed).
demo: build
	./$(BIN) run --emulator plans/demo.star

test:
	$(GO) test ./...

# Azurite for the blob state tests, installed ahead (the tests do it themselves when it is missing).
azurite:
	$(GO) run ./state/statetest/install

# The chaos suite (builtins/chaos_test.go): SEEDS seeds from SEED_START, each a create or an update of an
# estate with every resource kind under faults drawn from the seed and another actor at work. `make test`
# runs two seeds; the figures are in docs/runs.md.
SEEDS      ?= 100
SEED_START ?= 1
chaos:
	FABPLAN_CHAOS_SEEDS=$(SEEDS) FABPLAN_CHAOS_SEED_START=$(SEED_START) \
		$(GO) test ./builtins -run '^TestChaos$$' -count=1 -timeout 120m -v | grep -E 'chaos:|VIOLATED|^(--- |ok|FAIL)'

# lint also cross-builds: fabplan ships for Windows and macOS, where a Unix-only call fails to compile.
lint: build
	$(GO) vet ./...
	GOOS=windows $(GO) build ./...
	GOOS=darwin $(GO) build ./...
	./$(BIN) lint plans/
	./$(BIN) fmt --check plans/
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt would change:"; gofmt -l $$(git ls-files '*.go'); exit 1; }

# Benchmarks (long ones run once; short ones for BENCHTIME). BENCH=Name picks some; figures are in docs/performance.md.
BENCH     ?= .
BENCHTIME ?= 1s
bench:
	$(GO) test -run '^$$' -bench '$(BENCH)' -benchtime $(BENCHTIME) -benchmem ./...

clean:
	rm -rf bin .fabplan
