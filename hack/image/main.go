// Command image is `make image`: it packs the statically linked manager
// binary into an OCI image on an empty base (nothing but /manager), and
// writes it as an OCI archive that `podman load`, `skopeo copy
// oci-archive:...` and `crane push` take. It uses go-containerregistry, as
// ko does, so no Docker engine, registry or base image pull is needed.
//
// The image runs as 65532:65532 (the distroless "nonroot" user, which
// restricted Pod Security admission accepts) with /manager as entrypoint.
// Its timestamps are fixed, so the same binary always gives the same image
// digest.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
)

func main() {
	var o Options
	flag.StringVar(&o.Binary, "binary", "", "The manager binary to pack (linux, statically linked).")
	flag.StringVar(&o.Output, "output", "dist/manager-image.tar", "Where to write the OCI archive.")
	flag.StringVar(&o.Name, "name", "controller:latest",
		"The image name recorded in the archive (org.opencontainers.image.ref.name); podman load tags it so.")
	flag.StringVar(&o.Arch, "arch", runtime.GOARCH, "The binary's architecture, recorded in the image config.")
	flag.StringVar(&o.Source, "source", "https://github.com/collab-dev/collaborator-operator",
		"The org.opencontainers.image.source label.")
	flag.Parse()
	if o.Binary == "" {
		fmt.Fprintln(os.Stderr, "image: --binary is required")
		os.Exit(2)
	}
	digest, err := Build(o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "image:", err)
		os.Exit(1)
	}
	fi, err := os.Stat(o.Output)
	if err != nil {
		fmt.Fprintln(os.Stderr, "image:", err)
		os.Exit(1)
	}
	fmt.Printf("wrote %s: %s %s (%.1f MiB)\n", filepath.Clean(o.Output), o.Name, digest, float64(fi.Size())/(1<<20))
}
