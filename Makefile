# fabplan's build. Everything needs only Go; the blob state tests also need Node.js with npm, and install
# Azurite (the Azure Storage emulator) into the git-ignored .tools/azurite the first time they run.
GO      ?= go
BIN     := bin/fabplan

# What `fabplan version` says of a build: the tag (git describe, when the commit is tagged v*), the
# commit, its time and whether the work tree had changes. Stamped with -X because the Go toolchain
# stamps no VCS information in a git worktree or with -buildvcs=false; go install module@version
# needs none of this (the module version is in the build info).
VERSION  ?= $(shell git describe --tags --match 'v*' 2>/dev/null)
COMMIT   ?= $(shell git rev-parse HEAD 2>/dev/null)
DATE     ?= $(shell git log -1 --format=%cI 2>/dev/null)
MODIFIED ?= $(shell test -n "$$(git status --porcelain --untracked-files=no 2>/dev/null)" && echo true)
VERSION_PKG := github.com/fabplan/fabplan/cmd/fabplan/internal/version
LDFLAGS := -X $(VERSION_PKG).version=$(VERSION) -X $(VERSION_PKG).commit=$(COMMIT) \
	-X $(VERSION_PKG).date=$(DATE) -X $(VERSION_PKG).modified=$(MODIFIED)

# The platforms a release ships for, each GOOS/GOARCH; make release builds them all into DIST.
PLATFORMS ?= linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64 windows/arm64
DIST      ?= dist
IMAGE     ?= fabplan

.PHONY: build install release image demo test azurite lint bench bench-check fmt clean

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/fabplan

# fabplan on your PATH: go install puts it in $(go env GOBIN), or $(go env GOPATH)/bin when GOBIN is unset.
install:
	$(GO) install -ldflags "$(LDFLAGS)" ./cmd/fabplan

# Release binaries: static (CGO off), -trimpath, stripped, stamped with the version; one per platform,
# DIST/fabplan-GOOS-GOARCH[.exe], and their SHA256SUMS. cmd/fabplan/release_test.go builds one.
release:
	@mkdir -p $(DIST)
	@set -e; for p in $(PLATFORMS); do \
		os=$${p%/*}; arch=$${p#*/}; ext=; [ "$$os" = windows ] && ext=.exe; \
		echo "$(DIST)/fabplan-$$os-$$arch$$ext"; \
		CGO_ENABLED=0 GOOS=$$os GOARCH=$$arch $(GO) build -trimpath -ldflags "-s -w $(LDFLAGS)" \
			-o $(DIST)/fabplan-$$os-$$arch$$ext ./cmd/fabplan; \
	done
	cd $(DIST) && sha256sum fabplan-* > SHA256SUMS

# The container image (Dockerfile: distroless, non-root), stamped like the binaries.
image:
	docker build --build-arg VERSION=$(VERSION) --build-arg COMMIT=$(COMMIT) --build-arg DATE=$(DATE) \
		--build-arg MODIFIED=$(MODIFIED) -t $(IMAGE):$(or $(VERSION),devel) .

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

# The floors (docs/performance.md): apply, no-op plan and rollback of the 5-workspace estate and estate-L
# against the emulator; wall/floor, requests and 429s are compared with builtins/testdata/floors.json and a
# ratio more than 10 % worse fails. BENCH_CHECK=estate5 runs the short one; BENCH_UPDATE=1 rewrites the figures.
BENCH_CHECK  ?= all
BENCH_UPDATE ?=
bench-check:
	FABPLAN_BENCH_CHECK=$(BENCH_CHECK) FABPLAN_BENCH_UPDATE=$(BENCH_UPDATE) \
		$(GO) test ./builtins -run '^TestFloorsCheck$$' -count=1 -v -timeout 60m

clean:
	rm -rf bin dist .fabplan
