# Image URL to use all building/pushing image targets
IMG ?= controller:latest

# Get the currently used golang install path (in GOPATH/bin, unless GOBIN is set)
ifeq (,$(shell go env GOBIN))
GOBIN=$(shell go env GOPATH)/bin
else
GOBIN=$(shell go env GOBIN)
endif

# CONTAINER_TOOL defines the container tool to be used for building images.
# Be aware that the target commands are only tested with Docker which is
# scaffolded by default. However, you might want to replace it to use other
# tools. (i.e. podman)
CONTAINER_TOOL ?= docker

# Setting SHELL to bash allows bash commands to be executed by recipes.
# Options are set to exit when a recipe line exits non-zero or a piped command fails.
SHELL = /usr/bin/env bash -o pipefail
.SHELLFLAGS = -ec

.PHONY: all
all: build

##@ General

# The help target prints out all targets with their descriptions organized
# beneath their categories. The categories are represented by '##@' and the
# target descriptions by '##'. The awk command is responsible for reading the
# entire set of makefiles included in this invocation, looking for lines of the
# file as xyz: ## something, and then pretty-format the target and help. Then,
# if there's a line with ##@ something, that gets pretty-printed as a category.
# More info on the usage of ANSI control characters for terminal formatting:
# https://en.wikipedia.org/wiki/ANSI_escape_code#SGR_parameters
# More info on the awk command:
# http://linuxcommand.org/lc3_adv_awk.php

.PHONY: help
help: ## Display this help.
	@awk 'BEGIN {FS = ":.*##"; printf "\nUsage:\n  make \033[36m<target>\033[0m\n"} /^[a-zA-Z_0-9-]+:.*?##/ { printf "  \033[36m%-18s\033[0m %s\n", $$1, $$2 } /^##@/ { printf "\n\033[1m%s\033[0m\n", substr($$0, 5) } ' $(MAKEFILE_LIST)

##@ Development

# Files that `make manifests generate` writes. `make test` fails when they
# differ from what is committed (or staged), so a stale CRD, ClusterRole or
# deepcopy never ships.
GENERATED_PATHS ?= config/crd config/rbac/role.yaml ':(glob)api/**/zz_generated.deepcopy.go' $(CHART_DIR)/crds $(CHART_DIR)/files

# The Helm chart. Its CRDs, the manager's rules and the alerts are copies of
# config/ (the one source), refreshed by `make manifests`; `make test` then
# fails if the committed copies are stale.
CHART_DIR ?= charts/collaborator-operator

.PHONY: manifests
manifests: ## Generate ClusterRole and CustomResourceDefinition objects, and copy them (and the alerts) into the Helm chart.
	hack/keep-mtime.sh config/crd/bases config/rbac/role.yaml -- $(CONTROLLER_GEN) rbac:roleName=manager-role crd paths="./..." output:crd:artifacts:config=config/crd/bases
	@mkdir -p $(CHART_DIR)/crds $(CHART_DIR)/files
	@rm -f $(CHART_DIR)/crds/*.yaml
	@cp -p config/crd/bases/*.yaml $(CHART_DIR)/crds/
	@cp -p config/rbac/role.yaml $(CHART_DIR)/files/manager-role.yaml
	@cp -p config/prometheus/alerts.yaml $(CHART_DIR)/files/alerts.yaml

.PHONY: generate
generate: ## Generate code containing DeepCopy, DeepCopyInto, and DeepCopyObject method implementations.
	hack/keep-mtime.sh api -- $(CONTROLLER_GEN) object:headerFile="hack/boilerplate.go.txt" paths="./..."

.PHONY: fmt
fmt: ## Run go fmt against code.
	go fmt ./...

.PHONY: vet
vet: ## Run go vet against code.
	go vet ./...

.PHONY: verify-generated
verify-generated: ## Fail if generated files (CRDs, role.yaml, deepcopy) differ from what is committed or staged.
	@if ! git rev-parse --is-inside-work-tree >/dev/null 2>&1; then \
		echo "verify-generated: not a git work tree; cannot check generated files"; \
	elif ! git diff --quiet -- $(GENERATED_PATHS) || [ -n "$$(git ls-files --others --exclude-standard -- $(GENERATED_PATHS))" ]; then \
		echo "ERROR: generated files are out of date with the code's markers." >&2; \
		echo "Run 'make manifests generate', review the result and commit it:" >&2; \
		git --no-pager diff --stat -- $(GENERATED_PATHS) >&2; \
		git ls-files --others --exclude-standard -- $(GENERATED_PATHS) | sed 's/^/  new file: /' >&2; \
		exit 1; \
	fi

.PHONY: test
test: manifests generate fmt vet verify-generated envtest helm promtool ## Run all tests against a real API server (envtest), with coverage.
	HELM="$(HELM)" PROMTOOL="$(PROMTOOL)" KUBEBUILDER_ASSETS="$$($(ENVTEST_SETUP))" go test ./... -coverprofile cover.out

# test-unit leaves out the packages whose tests start an API server (envtest)
# or need outside tools: the envtest suite in internal/controller,
# internal/events, cmd/kubectl-collab and everything under test/.
.PHONY: test-unit
test-unit: ## Run the fast tests: reconcile logic against in-memory fake providers, no API server.
	go test $$(go list ./... | grep -Ev '/internal/controller$$|/internal/events$$|/cmd/kubectl-collab$$|/test/')

.PHONY: lint
lint: golangci-lint ## Run golangci-lint linter.
	$(GOLANGCI_LINT) run

.PHONY: lint-fix
lint-fix: golangci-lint ## Run golangci-lint linter and perform fixes.
	$(GOLANGCI_LINT) run --fix

.PHONY: lint-config
lint-config: golangci-lint ## Verify golangci-lint linter configuration.
	$(GOLANGCI_LINT) config verify

##@ Build

# The manager is the package ./cmd, not the file cmd/main.go: main uses
# functions from the package's other files (gc.go, logging.go), which
# `go build cmd/main.go` would leave out. test/build runs this recipe.

.PHONY: build
build: manifests generate fmt vet ## Build the manager and the kubectl plugin (bin/manager, bin/kubectl-collab).
	go build -o bin/manager ./cmd
	go build -o bin/kubectl-collab ./cmd/kubectl-collab

.PHONY: run
run: manifests generate fmt vet ## Run a controller from your host against the cluster of the current kubeconfig.
	go run ./cmd

# MANAGER_BUILD builds the manager as it ships in the image: statically
# linked (the image has no libc), without local paths or symbol tables. The
# Dockerfile runs the same command.
MANAGER_BUILD ?= CGO_ENABLED=0 GOOS=linux go build -trimpath -ldflags="-s -w"
# IMAGE_ARCHIVE is where `make image` writes the OCI archive.
IMAGE_ARCHIVE ?= dist/manager-image.tar

.PHONY: image
image: manifests generate ## Build the manager's OCI image (empty base, user 65532, entrypoint /manager) into $(IMAGE_ARCHIVE); no Docker engine needed.
	@mkdir -p dist/image
	$(MANAGER_BUILD) -o dist/image/manager ./cmd
	go run ./hack/image --binary dist/image/manager --name $(IMG) --output $(IMAGE_ARCHIVE)

.PHONY: podman
podman: ## Install podman and runc from Debian's packages if missing (needs root or sudo).
	@if ! command -v podman >/dev/null 2>&1 || [ ! -x /usr/sbin/runc ]; then \
		sudo=$$([ "$$(id -u)" = 0 ] || echo sudo); \
		$$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq podman runc; \
	fi

.PHONY: test-image
test-image: image podman envtest ## Run the image in podman (read-only, non-root, host network) against a test API server and the simulators; the samples must become Ready.
	IMAGE_ARCHIVE="$(CURDIR)/$(IMAGE_ARCHIVE)" KUBEBUILDER_ASSETS="$$($(ENVTEST_SETUP))" go test ./test/image/ -count=1 -v -timeout 10m

# If you wish to build the manager image targeting other platforms you can use the --platform flag.
# (i.e. docker build --platform linux/arm64). However, you must enable docker buildKit for it.
# More info: https://docs.docker.com/develop/develop-images/build_enhancements/
.PHONY: docker-build
docker-build: ## Build docker image with the manager (needs a Docker engine; `make image` needs none).
	$(CONTAINER_TOOL) build -t ${IMG} .

.PHONY: docker-push
docker-push: ## Push docker image with the manager (needs a Docker engine).
	$(CONTAINER_TOOL) push ${IMG}

.PHONY: build-installer
build-installer: manifests generate kustomize ## Generate a consolidated YAML with CRDs and deployment in dist/install.yaml.
	mkdir -p dist
	cd config/manager && $(KUSTOMIZE) edit set image controller=${IMG}
	$(KUSTOMIZE) build config/default > dist/install.yaml
	cd config/manager && $(KUSTOMIZE) edit set image controller=controller:latest

##@ Deployment

ifndef ignore-not-found
  ignore-not-found = false
endif

.PHONY: install
install: manifests kustomize ## Install CRDs into the K8s cluster specified in ~/.kube/config.
	@out="$$( $(KUSTOMIZE) build config/crd 2>/dev/null || true )"; \
	if [ -n "$$out" ]; then echo "$$out" | $(KUBECTL) apply -f -; else echo "No CRDs to install; skipping."; fi

.PHONY: uninstall
uninstall: manifests kustomize ## Uninstall CRDs from the K8s cluster specified in ~/.kube/config. Call with ignore-not-found=true to ignore resource not found errors during deletion.
	@out="$$( $(KUSTOMIZE) build config/crd 2>/dev/null || true )"; \
	if [ -n "$$out" ]; then echo "$$out" | $(KUBECTL) delete --ignore-not-found=$(ignore-not-found) -f -; else echo "No CRDs to delete; skipping."; fi

.PHONY: deploy
deploy: manifests kustomize ## Deploy controller to the K8s cluster specified in ~/.kube/config.
	cd config/manager && $(KUSTOMIZE) edit set image controller=${IMG}
	$(KUSTOMIZE) build config/default | $(KUBECTL) apply -f -
	cd config/manager && $(KUSTOMIZE) edit set image controller=controller:latest

.PHONY: undeploy
undeploy: kustomize ## Undeploy controller from the K8s cluster specified in ~/.kube/config, leaving everyone's access at the providers. Call with ignore-not-found=true to ignore resource not found errors during deletion.
	@# The CRDs go first, while the manager still runs: it releases every
	@# Collaborator as Orphan (docs/uninstall.md). Deleting its namespace and
	@# RBAC in the same command could stop it half-way.
	$(KUSTOMIZE) build config/crd | $(KUBECTL) delete --ignore-not-found=$(ignore-not-found) --wait=true -f -
	$(KUSTOMIZE) build config/default | $(KUBECTL) delete --ignore-not-found=true -f -

##@ Dependencies

## Location to install dependencies to
LOCALBIN ?= $(shell pwd)/bin
$(LOCALBIN):
	mkdir -p $(LOCALBIN)

## Tool Binaries
KUBECTL ?= kubectl
KUSTOMIZE ?= $(LOCALBIN)/kustomize
# controller-gen is pinned in go.mod as a Go tool, so its version moves with
# the module graph rather than with this file.
CONTROLLER_GEN ?= go tool controller-gen
GOLANGCI_LINT = $(LOCALBIN)/golangci-lint
# hack/setup-envtest.sh provisions kube-apiserver, etcd and kubectl under
# bin/k8s/<version> (downloading, else building them from the Go module
# proxy) and prints that directory for KUBEBUILDER_ASSETS.
ENVTEST_SETUP ?= ENVTEST_K8S_VERSION=$(ENVTEST_K8S_VERSION) hack/setup-envtest.sh

# helm and promtool are pinned in their own modules under hack/tools (each
# pulls in a large dependency graph of its own that must not move the
# operator's), and built into bin/ when their go.mod changes.
HELM ?= $(LOCALBIN)/helm
PROMTOOL ?= $(LOCALBIN)/promtool

## Tool Versions
KUSTOMIZE_VERSION ?= v5.8.1
GOLANGCI_LINT_VERSION ?= v2.15.0
# ENVTEST_K8S_VERSION is the version of Kubernetes the tests run against.
ENVTEST_K8S_VERSION ?= 1.36.3

.PHONY: kustomize
kustomize: $(LOCALBIN) ## Download kustomize locally if necessary.
	$(call go-install-tool,$(KUSTOMIZE),sigs.k8s.io/kustomize/kustomize/v5,$(KUSTOMIZE_VERSION))

.PHONY: helm
helm: $(HELM) ## Build helm (pinned in hack/tools/helm/go.mod) into bin/.
$(HELM): hack/tools/helm/go.mod hack/tools/helm/go.sum | $(LOCALBIN)
	cd hack/tools/helm && go build -o $(HELM) helm.sh/helm/v3/cmd/helm

.PHONY: promtool
promtool: $(PROMTOOL) ## Build promtool (pinned in hack/tools/promtool/go.mod) into bin/.
$(PROMTOOL): hack/tools/promtool/go.mod hack/tools/promtool/go.sum | $(LOCALBIN)
	cd hack/tools/promtool && go build -o $(PROMTOOL) github.com/prometheus/prometheus/cmd/promtool

.PHONY: envtest
envtest: $(LOCALBIN) ## Provision the envtest binaries (kube-apiserver, etcd, kubectl) into bin/k8s.
	@echo "envtest assets: $$($(ENVTEST_SETUP))"

.PHONY: golangci-lint
golangci-lint: $(LOCALBIN) ## Build golangci-lint locally if necessary (from the Go module proxy; a few minutes).
	$(call go-install-tool,$(GOLANGCI_LINT),github.com/golangci/golangci-lint/v2/cmd/golangci-lint,$(GOLANGCI_LINT_VERSION))

# go-install-tool will 'go install' any package with custom target and name of binary, if it doesn't exist
# $1 - target path with name of binary
# $2 - package url which can be installed
# $3 - specific version of package
define go-install-tool
@[ -f "$(1)-$(3)" ] && [ "$$(readlink -- "$(1)" 2>/dev/null)" = "$$(basename "$(1)-$(3)")" ] || { \
set -e; \
package=$(2)@$(3) ;\
echo "Downloading $${package}" ;\
rm -f $(1) ;\
GOBIN=$(LOCALBIN) go install $${package} ;\
mv $(1) $(1)-$(3) ;\
} ;\
ln -sf $$(basename "$(1)-$(3)") $(1)
endef

##@ Demo, end-to-end and installer checks (issue 5; owned by the demo/e2e work)

# DEMO_ARGS are passed to hack/demo, e.g. DEMO_ARGS=--exit to stop after the
# readiness check (CI=true does the same), or DEMO_ARGS=--timeout=5m.
DEMO_ARGS ?=

.PHONY: demo
demo: manifests envtest ## Run the operator on a local API server with provider simulators, apply config/samples and wait until Ready; Ctrl-C stops it.
	go build -o bin/demo ./hack/demo
	bin/demo $(DEMO_ARGS)

.PHONY: test-e2e
test-e2e: manifests envtest ## Run only the end-to-end tests (built manager and simulator binaries, driven through kubectl).
	KUBEBUILDER_ASSETS="$$($(ENVTEST_SETUP))" go test ./test/e2e/ -count=1 -v -timeout 5m

.PHONY: test-chaos
test-chaos: manifests envtest ## Run only the chaos test (random changes, provider faults, manager SIGKILLs) and print its figures.
	KUBEBUILDER_ASSETS="$$($(ENVTEST_SETUP))" go test ./test/chaos/ -count=1 -v -timeout 10m

# SCALE_SIZES are the numbers of Collaborators `make bench` runs, e.g.
# SCALE_SIZES=1000,10000. The other SCALE_* settings (docs/scaling.md) are
# read from the environment or the make command line.
SCALE_SIZES ?= 1000

.PHONY: bench
bench: manifests envtest ## Run the scale benchmark (test/scale) for SCALE_SIZES Collaborators (default 1000; e.g. 1000,10000) and print each figure against its target.
	SCALE_SIZES="$(SCALE_SIZES)" KUBEBUILDER_ASSETS="$$($(ENVTEST_SETUP))" go test ./test/scale/ -run '^$$' -bench Scale -benchtime 1x -count=1 -timeout 90m

.PHONY: verify-installer
verify-installer: build-installer envtest ## Build dist/install.yaml and check it: hardened Deployment, RBAC, metrics, server-side dry run.
	INSTALL_YAML="$(CURDIR)/dist/install.yaml" KUBEBUILDER_ASSETS="$$($(ENVTEST_SETUP))" go test ./test/install/ -count=1 -v
