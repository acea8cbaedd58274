package main

import (
	"archive/tar"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/v1/layout"
)

// TestBuild packs a stand-in binary and reads the archive back as an OCI
// layout: one image, named, with the config a restricted Pod relies on and
// /manager as its only file; and the same input gives the same digest.
func TestBuild(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "manager")
	if err := os.WriteFile(bin, []byte("#!not really a binary\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	o := Options{
		Binary: bin, Output: filepath.Join(dir, "out", "image.tar"),
		Name: "example.com/op:v1", Arch: "arm64", Source: "s",
	}
	digest, err := Build(o)
	if err != nil {
		t.Fatal(err)
	}
	again, err := Build(o)
	if err != nil {
		t.Fatal(err)
	}
	if digest != again {
		t.Errorf("two builds of the same binary gave digests %s and %s; want reproducible", digest, again)
	}

	unpacked := filepath.Join(dir, "layout")
	untar(t, o.Output, unpacked)
	idx, err := layout.ImageIndexFromPath(unpacked)
	if err != nil {
		t.Fatalf("the archive is not an OCI layout: %v", err)
	}
	manifest, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(manifest.Manifests) != 1 {
		t.Fatalf("%d images in the archive; want 1", len(manifest.Manifests))
	}
	desc := manifest.Manifests[0]
	if got := desc.Annotations["org.opencontainers.image.ref.name"]; got != o.Name {
		t.Errorf("ref.name %q; want %q", got, o.Name)
	}
	if desc.Digest.String() != digest {
		t.Errorf("archive holds %s; Build returned %s", desc.Digest, digest)
	}
	img, err := idx.Image(desc.Digest)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	got := []string{cfg.OS, cfg.Architecture, cfg.Config.User, strings.Join(cfg.Config.Entrypoint, " ")}
	if diff := cmp.Diff([]string{"linux", "arm64", "65532:65532", "/manager"}, got); diff != "" {
		t.Errorf("image config (-want +got):\n%s", diff)
	}
	layers, err := img.Layers()
	if err != nil || len(layers) != 1 {
		t.Fatalf("layers: %d, %v; want 1", len(layers), err)
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = rc.Close() }()
	tr := tar.NewReader(rc)
	var files []string
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		mode := os.FileMode(h.Mode & 0o7777)
		files = append(files, h.Name+" "+mode.String())
	}
	if diff := cmp.Diff([]string{"manager -r-xr-xr-x"}, files); diff != "" {
		t.Errorf("layer files (-want +got):\n%s", diff)
	}
}

func untar(t *testing.T, archive, dir string) {
	t.Helper()
	f, err := os.Open(archive) //nolint:gosec // G304: the archive this test wrote
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, filepath.FromSlash(h.Name))
		if h.Typeflag == tar.TypeDir {
			if err := os.MkdirAll(path, 0o750); err != nil {
				t.Fatal(err)
			}
			continue
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// TestDockerfileBuildsLikeMakeImage keeps the Dockerfile's build of the
// manager in step with `make image` (MANAGER_BUILD in the Makefile), so
// both give the same binary.
func TestDockerfileBuildsLikeMakeImage(t *testing.T) {
	root := filepath.Join("..", "..")
	makefile, err := os.ReadFile(filepath.Join(root, "Makefile")) //nolint:gosec // G304: this repository's Makefile
	if err != nil {
		t.Fatal(err)
	}
	dockerfile, err := os.ReadFile(filepath.Join(root, "Dockerfile")) //nolint:gosec // G304: this repository's Dockerfile
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^MANAGER_BUILD \?= CGO_ENABLED=0 GOOS=linux go build (.*)$`).FindSubmatch(makefile)
	if m == nil {
		t.Fatal("the Makefile has no MANAGER_BUILD ?= CGO_ENABLED=0 GOOS=linux go build ...")
	}
	flags := string(m[1])
	if !strings.Contains(string(dockerfile), "CGO_ENABLED=0") ||
		!strings.Contains(string(dockerfile), "go build "+flags+" -o manager ./cmd") {
		t.Errorf("the Dockerfile does not build the manager with CGO_ENABLED=0 and "+
			"`go build %s -o manager ./cmd` as make image does", flags)
	}
	for _, want := range []string{"FROM scratch", "USER 65532:65532", `ENTRYPOINT ["/manager"]`} {
		if !strings.Contains(string(dockerfile), want) {
			t.Errorf("the Dockerfile lacks %q, which make image's image has", want)
		}
	}
}
