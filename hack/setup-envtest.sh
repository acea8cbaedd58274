#!/usr/bin/env bash
# Provisions the envtest control plane (kube-apiserver, etcd, kubectl) under
# bin/k8s/<version>/ and prints that directory, for KUBEBUILDER_ASSETS.
#
# It first tries setup-envtest, which downloads release binaries. Where that
# cannot reach its download host (air-gapped CI, this project's build
# machines) it falls back to building the same binaries from source through
# the Go module proxy, which is always reachable when `go build` is.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
K8S_VERSION=${ENVTEST_K8S_VERSION:-1.36.3}
ETCD_VERSION=${ENVTEST_ETCD_VERSION:-v3.6.8}
SETUP_ENVTEST_VERSION=${SETUP_ENVTEST_VERSION:-release-0.23}
ASSETS="$ROOT/bin/k8s/$K8S_VERSION"

log() { printf 'setup-envtest: %s\n' "$*" >&2; }

have_assets() {
	[ -x "$ASSETS/kube-apiserver" ] && [ -x "$ASSETS/etcd" ] && [ -x "$ASSETS/kubectl" ]
}

link_kubectl() {
	# envtest only needs kubectl for its optional helpers; prefer the
	# machine's, else build the matching one alongside kube-apiserver.
	if [ ! -e "$ASSETS/kubectl" ] && command -v kubectl >/dev/null 2>&1; then
		ln -sf "$(command -v kubectl)" "$ASSETS/kubectl"
	fi
}

if have_assets; then
	echo "$ASSETS"
	exit 0
fi
mkdir -p "$ASSETS"

try_download() {
	local dir
	dir=$(mktemp -d)
	log "trying setup-envtest download of $K8S_VERSION"
	if GOBIN="$dir" go install "sigs.k8s.io/controller-runtime/tools/setup-envtest@$SETUP_ENVTEST_VERSION" >/dev/null 2>&1 &&
		out=$(timeout 60 "$dir/setup-envtest" use "$K8S_VERSION" --bin-dir "$ROOT/bin/setup-envtest" -p path 2>/dev/null) &&
		[ -n "$out" ] && [ -x "$out/kube-apiserver" ]; then
		cp -f "$out/kube-apiserver" "$out/etcd" "$ASSETS/"
		[ -x "$out/kubectl" ] && cp -f "$out/kubectl" "$ASSETS/"
		rm -rf "$dir"
		return 0
	fi
	rm -rf "$dir"
	return 1
}

build_apiserver() {
	local work="$ROOT/bin/.build/kube-apiserver-$K8S_VERSION"
	local staging="v0.${K8S_VERSION#1.}"
	mkdir -p "$work"
	log "building kube-apiserver v$K8S_VERSION from the Go module proxy (several minutes cold)"
	local gomod
	gomod=$(cd "$work" && GOFLAGS=-mod=mod go mod download -json "k8s.io/kubernetes@v$K8S_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
	{
		echo "module envtest.local/kube-apiserver"
		echo
		echo "go 1.25"
		echo
		echo "require k8s.io/kubernetes v$K8S_VERSION"
		echo
		echo "replace ("
		# Every staging module that kubernetes' own go.mod points at
		# ./staging/... is published separately at the matching v0 version.
		sed -n 's#^[[:space:]]*\(k8s.io/[^[:space:]]*\)[[:space:]]*=>[[:space:]]*\./staging/.*#\1#p' "$gomod" |
			while read -r m; do echo "	$m => $m $staging"; done
		echo ")"
	} >"$work/go.mod"
	cat >"$work/tools.go" <<'GO'
//go:build tools

package tools

import _ "k8s.io/kubernetes/cmd/kube-apiserver"
GO
	(cd "$work" && GOFLAGS=-mod=mod go mod tidy -e >/dev/null 2>&1 || true)
	(cd "$work" && GOFLAGS=-mod=mod CGO_ENABLED=0 go build -o "$ASSETS/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver)
	if [ ! -e "$ASSETS/kubectl" ] && ! command -v kubectl >/dev/null 2>&1; then
		(cd "$work" && GOFLAGS=-mod=mod CGO_ENABLED=0 go build -o "$ASSETS/kubectl" k8s.io/kubernetes/cmd/kubectl)
	fi
}

build_etcd() {
	local work="$ROOT/bin/.build/etcd-$ETCD_VERSION"
	mkdir -p "$work"
	log "building etcd $ETCD_VERSION from the Go module proxy"
	cat >"$work/go.mod" <<GOMOD
module envtest.local/etcd

go 1.25

require go.etcd.io/etcd/server/v3 $ETCD_VERSION
GOMOD
	(cd "$work" && GOFLAGS=-mod=mod go mod tidy -e >/dev/null 2>&1 || true)
	(cd "$work" && GOFLAGS=-mod=mod CGO_ENABLED=0 go get "go.etcd.io/etcd/server/v3@$ETCD_VERSION" >/dev/null 2>&1 || true)
	(cd "$work" && GOFLAGS=-mod=mod CGO_ENABLED=0 go build -o "$ASSETS/etcd" go.etcd.io/etcd/server/v3)
}

if [ "${ENVTEST_SKIP_DOWNLOAD:-}" != "1" ] && try_download; then
	log "downloaded"
else
	log "download unavailable; building from source"
	[ -x "$ASSETS/etcd" ] || build_etcd
	[ -x "$ASSETS/kube-apiserver" ] || build_apiserver
fi
link_kubectl
have_assets || { log "failed to provision envtest binaries in $ASSETS"; exit 1; }
echo "$ASSETS"
