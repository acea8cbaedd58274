package main

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Options say what to pack and where.
type Options struct {
	// Binary is the manager binary.
	Binary string
	// Output is the OCI archive to write.
	Output string
	// Name is recorded as the image's org.opencontainers.image.ref.name.
	Name string
	// Arch is the binary's GOARCH.
	Arch string
	// Source is the org.opencontainers.image.source label.
	Source string
}

// User is the image's user: distroless' "nonroot", a fixed numeric id so
// that runAsNonRoot can verify it without an /etc/passwd.
const User = "65532:65532"

// epoch is every timestamp in the image, so builds are reproducible.
var epoch = time.Unix(0, 0).UTC()

// Build writes the image to o.Output and returns its manifest digest.
func Build(o Options) (string, error) {
	bin, err := os.ReadFile(o.Binary)
	if err != nil {
		return "", fmt.Errorf("reading the manager binary: %w", err)
	}
	layerTar, err := singleFileTar("manager", bin)
	if err != nil {
		return "", err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerTar)), nil
	}, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return "", fmt.Errorf("building the layer: %w", err)
	}

	// The empty image is the "scratch" base: no files, no shell, no CA
	// bundle (the manager embeds its roots).
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	img, err = mutate.AppendLayers(img, layer)
	if err != nil {
		return "", fmt.Errorf("adding the layer: %w", err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return "", err
	}
	cfg = cfg.DeepCopy()
	cfg.Architecture = o.Arch
	cfg.OS = "linux"
	cfg.Created = v1.Time{Time: epoch}
	cfg.Config.Entrypoint = []string{"/manager"}
	cfg.Config.User = User
	cfg.Config.WorkingDir = "/"
	cfg.Config.Labels = map[string]string{
		"org.opencontainers.image.source":   o.Source,
		"org.opencontainers.image.licenses": "Apache-2.0",
		"org.opencontainers.image.title":    "collaborator-operator",
	}
	if img, err = mutate.ConfigFile(img, cfg); err != nil {
		return "", fmt.Errorf("writing the image config: %w", err)
	}
	digest, err := img.Digest()
	if err != nil {
		return "", err
	}
	if err := writeArchive(img, o.Name, o.Output); err != nil {
		return "", err
	}
	return digest.String(), nil
}

// singleFileTar returns a tar holding one executable file at the root,
// owned by root and read-only, so the non-root user can run it and not
// change it.
func singleFileTar(name string, data []byte) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	hdr := &tar.Header{
		Name:     name,
		Mode:     0o555,
		Size:     int64(len(data)),
		ModTime:  epoch,
		Typeflag: tar.TypeReg,
		Format:   tar.FormatPAX,
	}
	if err := tw.WriteHeader(hdr); err != nil {
		return nil, err
	}
	if _, err := tw.Write(data); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// writeArchive writes img as an OCI image layout, then packs that layout
// directory into a tar: the oci-archive format.
func writeArchive(img v1.Image, name, output string) error {
	dir, err := os.MkdirTemp("", "manager-image-")
	if err != nil {
		return err
	}
	defer func() { _ = os.RemoveAll(dir) }()
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return fmt.Errorf("starting the OCI layout: %w", err)
	}
	if err := p.AppendImage(img, layout.WithAnnotations(map[string]string{
		"org.opencontainers.image.ref.name": name,
	})); err != nil {
		return fmt.Errorf("writing the OCI layout: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(output), 0o750); err != nil {
		return err
	}
	tmp := output + ".tmp"
	if err := tarDir(dir, tmp); err != nil {
		_ = os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, output)
}

// tarDir packs dir's files, in lexical order and with fixed times, into a
// new tar file at out.
func tarDir(dir, out string) (err error) {
	f, err := os.Create(out) //nolint:gosec // G304: the output path the developer chose
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, f.Close()) }()
	tw := tar.NewWriter(f)
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || path == dir {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		hdr, err := tar.FileInfoHeader(info, "")
		if err != nil {
			return err
		}
		hdr.Name = filepath.ToSlash(rel)
		hdr.ModTime, hdr.Uid, hdr.Gid, hdr.Uname, hdr.Gname = epoch, 0, 0, "", ""
		hdr.Format = tar.FormatPAX
		hdr.Mode = 0o644
		if d.IsDir() {
			hdr.Name += "/"
			hdr.Mode = 0o755
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		src, err := os.Open(path) //nolint:gosec // G304: a file of the layout this program just wrote
		if err != nil {
			return err
		}
		defer func() { _ = src.Close() }()
		_, err = io.Copy(tw, src)
		return err
	})
	if err != nil {
		return fmt.Errorf("packing the OCI layout: %w", err)
	}
	return tw.Close()
}
