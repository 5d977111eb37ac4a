# make test: everything CI runs (.ci/run calls exactly this).
# make bench: the benchmarks of the separate bench/ module, ours beside the anchors'.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c

GO ?= go
CACHE ?= $(HOME)/.cache/operable
STATICCHECK_VERSION := v0.8.2
STATICCHECK := $(CACHE)/bin/staticcheck-$(STATICCHECK_VERSION)
# The newest Go release, fetched by the go command from the module proxy, to
# prove the module builds on both supported releases.
NEWEST_GO := go1.27.3
BENCH_FLAGS ?= -run '^$$' -bench . -benchmem -count 6

# Every fuzz target, for a bounded number of executions each:
# package:target:execs (about 10-20 s each on this 2-core machine). A count,
# not a -fuzztime duration: Go 1.26's fuzz coordinator can report "context
# deadline exceeded" as a failure when a duration ends under load
# (golang/go#75804, fixed in 1.27); a count has no deadline to race. New
# coverage is minimized for at most 2 s (the default, 60 s, spent most of a
# short run minimizing instead of fuzzing).
FUZZ_TARGETS := ./logging:FuzzRedaction:80000 ./logging:FuzzSinglePassMatchesChain:60000 ./config:FuzzLoadNeverEchoesAValue:35000 ./config:FuzzFileParsing:10000 ./featureflags:FuzzParse:150000 .:FuzzSpanAttributesNeverCarryAKnownValue:20000 ./internal/clip:FuzzString:50000

.PHONY: test fmt-check vet vet-newest-go staticcheck unit fuzz templates bench startup

test: fmt-check vet vet-newest-go staticcheck unit fuzz templates

fmt-check:
	@files=$$(gofmt -l $$(find . -name '*.go' -not -path './.git/*')); \
	if [ -n "$$files" ]; then echo "gofmt would change:"; echo "$$files"; exit 1; fi

vet:
	$(GO) vet ./...
	cd bench && $(GO) vet ./...
	cd templatecheck && $(GO) vet ./... && cd kubescore && $(GO) vet ./...

vet-newest-go:
	GOTOOLCHAIN=$(NEWEST_GO) $(GO) vet ./...

$(STATICCHECK):
	mkdir -p $(CACHE)/bin
	GOBIN=$(CACHE)/bin $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
	mv $(CACHE)/bin/staticcheck $(STATICCHECK)

staticcheck: $(STATICCHECK)
	$(STATICCHECK) ./...
	cd bench && $(STATICCHECK) ./...

# Unit tests, the root package's import rules, and the black-box tests of
# examples/service (a real process, real signals, built with -race),
# including the integration tests against a real OpenTelemetry Collector
# and a real Vault (both built once and cached under $(CACHE); Vault's first
# build takes 15-25 minutes), a real Prometheus and a real Redis (Debian's
# packages, installed when missing).
# -count=1: the black-box tests build the service in a subprocess, which the
# test cache cannot see, so a cached pass could hide a change.
unit:
	OPERABLE_INTEGRATION=1 OTELCOL_BIN="$$(CACHE=$(CACHE) ./scripts/otelcol.sh)" \
		VAULT_BIN="$$(CACHE=$(CACHE) ./scripts/vault.sh)" \
		PROMETHEUS_DIR="$$(./scripts/prometheus.sh)" REDIS_BIN="$$(./scripts/redis.sh)" \
		POSTGRES_BIN_DIR="$$(./scripts/postgres.sh)" \
		PROTOC_GEN_BIN="$$(CACHE=$(CACHE) ./scripts/protoc.sh --install)" \
		GRPC_HEALTH_PROBE_BIN="$$(CACHE=$(CACHE) ./scripts/grpc-health-probe.sh)" \
		$(GO) test -race -count=1 -timeout 10m ./...
	# Allocation budgets, which the race detector's own allocations hide.
	$(GO) test -count=1 -run 'Alloc' ./...

# The templates' (examples/service, examples/worker) Dockerfiles, deploy/, workflows and compose.yaml,
# checked by the tools that read them (templatecheck/, a module of its own;
# kube-score in templatecheck/kubescore/, run by its tests). -count=1: the
# tests build the service in a subprocess, which the test cache cannot see.
# A project fresh from `operable new` (the SDK's checkout as its replace) is
# checked beside them, through OPERABLE_TEMPLATE_DIRS.
templates:
	gen="$$(mktemp -d)"; trap 'rm -rf "$$gen"' EXIT; \
	$(GO) run ./cmd/operable new -sdk "$(CURDIR)" github.com/acme/orders "$$gen/orders" >/dev/null; \
	(cd "$$gen/orders" && $(GO) mod tidy); \
	cd templatecheck && OPERABLE_TEMPLATE_DIRS="$$gen/orders" SHELLCHECK_BIN="$$(../scripts/shellcheck.sh)" $(GO) test -count=1 ./...

fuzz:
	@for t in $(FUZZ_TARGETS); do \
		IFS=: read -r pkg name execs <<< "$$t"; \
		echo "fuzz $$name in $$pkg for $$execs executions"; \
		$(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime "$${execs}x" -fuzzminimizetime 2s "$$pkg" || exit 1; \
	done

bench:
	cd bench && $(GO) test $(BENCH_FLAGS) ./... | tee bench.out
	cd bench && $(GO) run ./cmd/startup
	cd bench && $(GO) run ./cmd/probeload
	cd bench && $(GO) run ./cmd/footprint
	cd bench && $(GO) run ./cmd/e2e -wrk "$$(../scripts/wrk.sh)"

startup:
	cd bench && $(GO) run ./cmd/startup
