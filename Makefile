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

.PHONY: all build demo test unit lint vet fmt-check staticcheck bench control-plane browser clean

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

## test: lint, then every test, including those against a real kube-apiserver
## and those in a real browser (Debian's chromium, installed when missing).
test: lint control-plane browser
	KUBEBUILDER_ASSETS="$(ASSETS)" $(GO) test $(TEST_FLAGS) ./...

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

## bench: every engine's benchmarks (figures go to docs/benchmarks.md).
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

clean:
	rm -rf bin
