# Loa's front door. `make run` and `make test` do all set-up on a fresh
# Debian machine; `make help` lists the rest.

SHELL := /bin/bash
GO ?= go
TOOLS := $(CURDIR)/.tools
LOCAL := $(CURDIR)/.local
MINIO := $(TOOLS)/bin/minio
# The MinIO server, built once from source into the project-local tools
# folder (git-ignored); the same machine builds it only once.
MINIO_VERSION := v0.0.0-20260212201848-7aac2a2c5b7c
# SeaweedFS, the second S3 server the storage suite runs against (make
# test-seaweedfs): its `weed` binary, built once from the Go module proxy's
# source like MinIO. Its go.mod has a replace directive, which `go install
# pkg@version` refuses, so the module is downloaded and built in place.
WEED := $(TOOLS)/bin/weed
SEAWEEDFS_VERSION := v0.0.0-20261109003541-7506e5f91cd6
DEBIAN_PACKAGES := ffmpeg espeak-ng fonts-noto-core fonts-sil-taiheritagepro fonts-dejavu-core curl mpv chromium
RUN_MINIO_PORT ?= 9000
TEST_MINIO_PORT ?= 19000
# SeaweedFS's S3 port for make test-seaweedfs; it also takes the 7 ports after it.
TEST_SEAWEEDFS_PORT ?= 19100
# The private PostgreSQL cluster for tests (.ci/with-postgres).
TEST_PG_PORT ?= 19432
# The packages whose tests open a store: run a second time on PostgreSQL.
STORE_PACKAGES ?= ./pipeline/sqlstore/... ./pipeline/broadcast/ ./pipeline/web/ ./pipeline/api/ ./pipeline/worker/
# Fuzz budgets are counts, not durations: with a duration, Go 1.26's fuzz
# coordinator can report a spurious "context deadline exceeded" at the
# deadline on a loaded machine (golang/go#75804, fixed in Go 1.27).
FUZZTIME ?= 100000x

.PHONY: help run test test/short test-postgres test-scale test-deployment test-seaweedfs bench-backends deps tools tools-seaweedfs build bench fuzz vet fmt tidy clean postgres

help: ## list the targets
	@grep -E '^[a-z/-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

deps: ## install the Debian packages Loa needs (ffmpeg, espeak-ng, Tai Viet fonts, ...) when missing
	@missing=""; for p in $(DEBIAN_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  sudo=""; [ "$$(id -u)" = 0 ] || sudo=sudo; \
	  $$sudo apt-get update -q && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -q --no-install-recommends $$missing; \
	fi

postgres: ## install Debian's PostgreSQL; start and check a private test cluster (.local/test-postgres, port TEST_PG_PORT)
	@$(MAKE) --no-print-directory deps DEBIAN_PACKAGES="postgresql"
	.ci/with-postgres $(TEST_PG_PORT) $(LOCAL)/test-postgres \
	  sh -c 'psql "$$LOA_TEST_POSTGRES_URL" -Atc "SELECT version()" && echo "private cluster OK (LOA_TEST_POSTGRES_URL is exported to commands run under .ci/with-postgres)"'

tools: $(MINIO) ## build the pinned MinIO server into .tools (about 10 minutes the first time)

$(MINIO):
	@echo "building MinIO $(MINIO_VERSION) into $(TOOLS)/bin (once per machine)"
	GOBIN=$(TOOLS)/bin $(GO) install github.com/minio/minio@$(MINIO_VERSION)

tools-seaweedfs: $(WEED) ## build the pinned SeaweedFS server (weed) into .tools (up to 25 minutes the first time on 2 cores; seconds from a warm Go build cache)

$(WEED):
	@echo "building SeaweedFS $(SEAWEEDFS_VERSION) into $(TOOLS)/bin (once per machine)"
	@mkdir -p $(TOOLS)/bin
	set -euo pipefail; tmp=$$(mktemp -d); \
	src=$$(cd $$tmp && GOFLAGS= $(GO) mod download -json github.com/seaweedfs/seaweedfs@$(SEAWEEDFS_VERSION) | sed -n 's/^\t"Dir": "\(.*\)",$$/\1/p'); \
	rmdir $$tmp; [ -n "$$src" ]; \
	cd "$$src" && GOFLAGS=-buildvcs=false $(GO) build -o $(WEED).tmp ./weed && mv $(WEED).tmp $(WEED)

build: ## build bin/loa
	$(GO) build -o bin/loa ./cmd/loa

run: deps tools build ## start MinIO and loa serve on .local/, load the demo; Ctrl-C stops all
	@mkdir -p $(LOCAL)
	.ci/with-minio $(RUN_MINIO_PORT) $(LOCAL)/minio .ci/run-demo $(CURDIR)/bin/loa

test: deps tools ## run every test against a real MinIO, ffmpeg and SQLite, then the store-using ones on PostgreSQL, with the race detector
	@rm -rf $(LOCAL)/test-minio && mkdir -p $(LOCAL)
	LOA_TEST_REQUIRE_SERVICES=1 LOA_TEST_MINIO_BIN=$(MINIO) .ci/with-minio $(TEST_MINIO_PORT) $(LOCAL)/test-minio \
	  $(GO) test -race -count=1 -timeout 25m ./...
	$(MAKE) --no-print-directory test-postgres
	$(MAKE) fuzz FUZZTIME=$(FUZZTIME)

test-postgres: deps tools ## run the store-using packages' tests again, on a private PostgreSQL cluster (LOA_TEST_POSTGRES_URL)
	@$(MAKE) --no-print-directory deps DEBIAN_PACKAGES="postgresql"
	@rm -rf $(LOCAL)/test-minio-pg && mkdir -p $(LOCAL)
	LOA_TEST_REQUIRE_SERVICES=1 LOA_TEST_MINIO_BIN=$(MINIO) .ci/with-postgres $(TEST_PG_PORT) $(LOCAL)/test-postgres \
	  .ci/with-minio $(TEST_MINIO_PORT) $(LOCAL)/test-minio-pg \
	  sh -c '$(GO) test -race -count=1 -timeout 25m $(STORE_PACKAGES) && $(GO) test -race -count=1 -run "^(TestDBCopy|TestReplicasAgree|TestKilledWorkerTakenOver)$$" ./cmd/loa/'

test-scale: test-deployment test-seaweedfs ## make test-deployment, then the storage suite on SeaweedFS (make test-seaweedfs)

test-deployment: deps tools build ## the whole deployment with real processes: PostgreSQL, 4-drive MinIO, 3 replicas (kill -9, a lost drive, a PostgreSQL restart, 50 translators, revocation and emergency across replicas); about 3-4 minutes, run by .ci/run
	@$(MAKE) --no-print-directory deps DEBIAN_PACKAGES="postgresql"
	.ci/test-scale bin/loa

# The storage suite on SeaweedFS: media/objects (but the erasure-coded
# MinIO test) and the end-to-end paths through the object store
# (upload → process → translate → build → signed bundle pulled and
# played; bundle pull with resume; a killed upload swept).
SEAWEEDFS_E2E := TestWholeChain|TestPlaylistEndToEnd|TestRestartMidUpload
test-seaweedfs: deps tools-seaweedfs ## run the storage suite against SeaweedFS's S3 (LOA_S3_* alone), with the race detector
	@rm -rf $(LOCAL)/test-seaweedfs && mkdir -p $(LOCAL)
	LOA_TEST_REQUIRE_SERVICES=1 .ci/with-seaweedfs $(TEST_SEAWEEDFS_PORT) $(LOCAL)/test-seaweedfs \
	  sh -c '$(GO) test -race -count=1 -skip "^TestErasureCoded" ./media/objects/... && $(GO) test -race -count=1 -run "^($(SEAWEEDFS_E2E))$$" ./cmd/loa/'

test/short: ## unit tests only, no services
	$(GO) test -short ./...

fuzz: ## run each fuzz test for FUZZTIME (default 100000x; a duration such as 60s works by hand)
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz'); do \
	    echo "fuzz $$pkg $$f"; $(GO) test -run='^$$' -fuzz="^$$f$$" -fuzztime=$(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

bench: deps tools build ## benchmarks and load figures (ratios against peers run in the same script)
	@$(MAKE) --no-print-directory deps DEBIAN_PACKAGES="wrk nginx-light"
	@mkdir -p $(LOCAL)
	set -o pipefail; LOA_TEST_REQUIRE_SERVICES=1 .ci/with-minio $(TEST_MINIO_PORT) $(LOCAL)/bench-minio \
	  $(GO) test -run='^$$' -bench=. -benchmem -timeout 60m ./... | tee $(LOCAL)/bench-go.txt
	set -o pipefail; .ci/with-minio $(TEST_MINIO_PORT) $(LOCAL)/bench-minio .ci/bench-playlists | tee $(LOCAL)/bench-playlists.txt
	@.ci/bench-summary $(LOCAL)/bench-go.txt $(LOCAL)/bench-playlists.txt
	@$(MAKE) --no-print-directory bench-backends

bench-backends: deps ## translator claims and the stored national build on SQLite and on PostgreSQL, side by side (LOA_BENCH_COMMUNES, default 3321)
	@$(MAKE) --no-print-directory deps DEBIAN_PACKAGES="postgresql"
	.ci/bench-backends $(TEST_PG_PORT) $(LOCAL)/bench-postgres

vet: ## go vet and gofmt check
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); exit 1; }

fmt: ## gofmt the tree
	gofmt -w $$(git ls-files '*.go')

tidy: ## go mod tidy
	$(GO) mod tidy

clean: ## remove built binaries and local data (keeps the MinIO build)
	rm -rf bin $(LOCAL)
