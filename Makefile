# Kordon developer tasks. `make demo` and `make test` are the README's two
# set-up commands; both install what they need.

GO            ?= go
BIN           := bin/kordon
STATICCHECK_VERSION := v0.8.2
# Tools are cached per version under the user's cache dir, so a clean clone
# (CI) installs them once per machine.
TOOLS         := $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/kordon/tools
STATICCHECK   := $(TOOLS)/staticcheck-$(STATICCHECK_VERSION)
# The test control plane (kube-apiserver + etcd), built once and cached
# under $HOME/.cache by hack/build-control-plane.sh.
ASSETS         = $(shell hack/build-control-plane.sh)
TEST_FLAGS    ?= -race -timeout 30m

.PHONY: all build demo test unit lint vet fmt-check staticcheck bench bench-store bench-postgres control-plane browser postgres clean bpf-tools bpf-generate bpf-check hubble-proto-tools hubble-proto hubble-proto-check crs-regression waf-bench bench-operator bench-scale console console-deps console-check

all: build

# The version is stamped from git when there is a checkout, so that it is
# right even where Go's own VCS stamping is off (-buildvcs=false, a tarball).
VERSION       ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT        ?= $(shell git rev-parse HEAD 2>/dev/null)
LDFLAGS       := -X github.com/kordon-dev/kordon/internal/version.Version=$(VERSION) \
                 -X github.com/kordon-dev/kordon/internal/version.commit=$(COMMIT)

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/kordon

## demo: scan the bundled examples (plain YAML, Helm chart, kustomize) with no cluster.
demo: build
	@echo "== kordon scan examples/ (plain YAML, Helm chart and kustomize overlay)"
	./$(BIN) scan examples/ --fail-on none
	@echo
	@echo "== kordon netpol analyze examples/plain (who can reach whom)"
	@if ./$(BIN) netpol --help >/dev/null 2>&1; then ./$(BIN) netpol analyze examples/plain; fi

## test: lint, then every test, including those against a real kube-apiserver,
## in a real browser (Debian's chromium) and on a real PostgreSQL server
## (Debian's postgresql; both installed when missing).
test: lint bpf-check hubble-proto-check console-check control-plane browser postgres
	KUBEBUILDER_ASSETS="$(ASSETS)" KORDON_REQUIRE_POSTGRES=1 $(GO) test $(TEST_FLAGS) ./...

## unit: the tests without the control plane (they skip), quick to run often.
unit:
	$(GO) test ./...

control-plane:
	@hack/build-control-plane.sh >/dev/null

# Browser tests drive Debian's chromium (headless). It is installed with apt
# when missing and apt is usable (root, as in CI); elsewhere those tests say
# they were skipped.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing chromium (browser tests)"; \
	    (apt-get install -y -q chromium >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null; }); \
	  else echo "chromium missing and apt unusable: browser tests will be skipped"; fi; }

# The PostgreSQL store's tests start a private server from Debian's
# postgresql binaries (/usr/lib/postgresql/*/bin), installed with apt when
# missing; make test sets KORDON_REQUIRE_POSTGRES so that they cannot skip.
# KORDON_POSTGRES_URL=postgres://... runs them on an external server instead.
postgres:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || test -n "$$KORDON_POSTGRES_URL" || { \
	  echo "installing postgresql (store tests)"; \
	  (DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >/dev/null 2>&1 || \
	   { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >/dev/null; }); }

## console: rebuild the web console's front end (web/console, Vite + React)
## into internal/console/assets/dist, which is committed so that go build
## needs no Node. npm ci installs exactly package-lock.json; npm's cache is
## kept under $HOME/.cache.
CONSOLE_DIR   := web/console
CONSOLE_DIST  := internal/console/assets/dist
NPM_CACHE     := $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/kordon/npm
console-deps:
	@command -v npm >/dev/null || { echo "installing nodejs and npm (apt)"; apt-get update -qq && apt-get install -y -qq nodejs npm >/dev/null; }
	cd $(CONSOLE_DIR) && npm ci --no-audit --no-fund --cache $(NPM_CACHE) --prefer-offline >/dev/null

console: console-deps
	cd $(CONSOLE_DIR) && npm run build

## console-check: fail when the committed build differs from what the
## sources build to (run make console and commit the result).
console-check: console-deps
	@rm -rf /tmp/kordon-console-check.$$$$ && tmp=/tmp/kordon-console-check.$$$$ && \
	  (cd $(CONSOLE_DIR) && npx vite build --logLevel warn --outDir $$tmp --emptyOutDir) && \
	  if diff -r $$tmp $(CONSOLE_DIST) >/dev/null; then rm -rf $$tmp; echo "console build up to date"; \
	  else diff -rq $$tmp $(CONSOLE_DIST); rm -rf $$tmp; echo "the committed console build differs from web/console: run make console and commit $(CONSOLE_DIST)"; exit 1; fi

lint: vet fmt-check staticcheck

vet:
	$(GO) vet ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

staticcheck:
	@test -x $(STATICCHECK) || { echo "installing staticcheck $(STATICCHECK_VERSION) into $(TOOLS)"; \
	  mkdir -p $(TOOLS) && GOFLAGS= GOBIN=$(TOOLS) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) && \
	  mv $(TOOLS)/staticcheck $(STATICCHECK); }
	$(STATICCHECK) ./...

## bpf-generate: recompile the sensor's eBPF programs (internal/sensor/bpf)
## with Debian's clang-14; the objects are committed so go build needs no clang.
BPF_DIR       := internal/sensor/bpf
bpf-tools:
	@command -v clang-14 >/dev/null && command -v llvm-strip-14 >/dev/null && test -f /usr/include/bpf/bpf_helpers.h || \
	  { echo "installing clang-14, llvm-14 and libbpf-dev (apt)"; apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq clang-14 llvm-14 libbpf-dev >/dev/null; }

bpf-generate: bpf-tools
	cd $(BPF_DIR) && $(GO) generate ./

## bpf-check: fail when the committed objects differ from a fresh build.
bpf-check: bpf-generate
	@git diff --exit-code --stat -- $(BPF_DIR) || { echo "internal/sensor/bpf: committed eBPF objects differ from clang-14's build; run make bpf-generate and commit"; exit 1; }

## hubble-proto: regenerate the Go code of the Hubble API subset
## (internal/hubble/api/*/*.proto) with Debian's protoc and the Go plugins at
## the versions of our google.golang.org/protobuf and grpc; the generated code
## is committed so go build needs no protoc.
HUBBLE_API           := internal/hubble/api
PROTOC_GEN_GO        := $(TOOLS)/protoc-gen-go-v1.36.12
PROTOC_GEN_GO_GRPC   := $(TOOLS)/protoc-gen-go-grpc-v1.6.2
hubble-proto-tools:
	@command -v protoc >/dev/null || { echo "installing protobuf-compiler (apt)"; apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq protobuf-compiler >/dev/null; }
	@test -x $(PROTOC_GEN_GO) || { mkdir -p $(TOOLS)/gobin.$$$$ && GOFLAGS= GOBIN=$(TOOLS)/gobin.$$$$ $(GO) install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12 && \
	  mv $(TOOLS)/gobin.$$$$/protoc-gen-go $(PROTOC_GEN_GO) && rmdir $(TOOLS)/gobin.$$$$; }
	@test -x $(PROTOC_GEN_GO_GRPC) || { mkdir -p $(TOOLS)/gobin.$$$$ && GOFLAGS= GOBIN=$(TOOLS)/gobin.$$$$ $(GO) install google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.6.2 && \
	  mv $(TOOLS)/gobin.$$$$/protoc-gen-go-grpc $(PROTOC_GEN_GO_GRPC) && rmdir $(TOOLS)/gobin.$$$$; }

hubble-proto: hubble-proto-tools
	PROTOC_GEN_GO=$(PROTOC_GEN_GO) PROTOC_GEN_GO_GRPC=$(PROTOC_GEN_GO_GRPC) $(HUBBLE_API)/generate.sh

## hubble-proto-check: fail when the committed Go code differs from a fresh build.
hubble-proto-check: hubble-proto
	@git diff --exit-code --stat -- $(HUBBLE_API) || { echo "$(HUBBLE_API): committed code differs from protoc's; run make hubble-proto and commit"; exit 1; }

## bench: every engine's benchmarks (figures go to docs/benchmarks.md).
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

## crs-regression: every OWASP CRS regression test through the WAF proxy, then
## every test's requests through the engine with and without its speed settings
## (TestEquivalence; the normal tests run fixed samples). Writes
## crs-regression.txt to /tmp.
crs-regression:
	$(GO) test -count=1 -timeout 40m -run '^TestCRSRegressionFull$$' ./internal/waf/crstest -crs-full -crs-report /tmp/crs-regression.txt -v
	$(GO) test -count=1 -timeout 60m -run '^TestEquivalence$$' ./internal/waf -equiv-full -v

## waf-bench: the WAF proxy's overhead at 200, 1,000 and 5,000 req/s and the ext_authz round trip.
waf-bench:
	$(GO) test -run '^$$' -bench 'Engine/' -benchtime 400x ./internal/waf
	$(GO) test -run '^$$' -bench 'ProxyOverhead|EngineBenignGET' -benchtime 1x ./internal/waf/proxy
	$(GO) test -run '^$$' -bench 'Check' -benchtime 3s ./internal/waf/extauthz

## bench-store: the store's query benchmarks over 10 million records (30 days),
## built once (about 4.7 GB, 10 to 20 minutes on a busy 2-core machine) and kept in
## BENCH_STORE_DIR (default: under the cache dir), then ingest into the full store.
BENCH_STORE_DIR ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/kordon/bench
bench-store:
	mkdir -p $(BENCH_STORE_DIR)
	KORDON_BENCH_RECORDS=10000000 KORDON_BENCH_DB=$(BENCH_STORE_DIR)/store-10M-v2.db \
	  $(GO) test -run '^$$' -bench Query -benchtime 5x -timeout 120m -v ./internal/store/query
	KORDON_BENCH_RECORDS=10000000 KORDON_BENCH_DB=$(BENCH_STORE_DIR)/store-10M-v2.db \
	  $(GO) test -run '^$$' -bench IngestAtScale -benchtime 40x -timeout 30m ./internal/store/query

## bench-postgres: ingest and the store query table on PostgreSQL and SQLite
## at 1 million records (KORDON_BENCH_RECORDS to change; a few minutes each),
## on a private PostgreSQL with fsync on; both databases under KORDON_BENCH_DIR
## (default /dev/shm: about 2 GB at 1 million records).
bench-postgres: postgres
	KORDON_BENCH_RECORDS=$${KORDON_BENCH_RECORDS:-1000000} KORDON_BENCH_DURABLE=1 KORDON_BENCH_DIR=$${KORDON_BENCH_DIR:-/dev/shm} \
	  $(GO) test -run '^$$' -bench 'StoreQuery|StoreIngest' -benchtime 2s -timeout 120m ./internal/store/postgres

## bench-operator: a posture cycle over a 10,000-object cluster and drift over
## 1,000 objects, against the real API server of the test control plane.
bench-operator:
	KUBEBUILDER_ASSETS=$$(hack/build-control-plane.sh) KORDON_OPERATOR_BENCH=1 \
	  $(GO) test -run '^$$' -bench 'PostureCycle10k|Drift1k' -benchtime 2x -benchmem -timeout 30m ./internal/operator
	$(GO) test -run '^$$' -bench 'Build10k' -benchmem ./internal/operator/reports

## bench-scale: kordon scan's time per object at 3,000 to 100,000 generated
## objects (BenchmarkScanSize; about 2.5 GB of memory), then the whole command
## against kube-score at 10,000, 30,000 and 100,000 objects.
bench-scale:
	$(GO) test -run '^$$' -bench 'ScanSize' -benchtime 1x -timeout 60m ./internal/posture -scale100k
	hack/scan-vs-kube-score.sh

clean:
	rm -rf bin
