package scale

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"k8s.io/client-go/rest"

	"github.com/collab-dev/collaborator-operator/test/devstack"
)

// profiler saves the manager's pprof profiles (go tool pprof reads them)
// when SCALE_PROFILE_DIR is set; a nil profiler saves nothing. Failures
// are printed, not fatal: profiles explain figures, they are not figures.
type profiler struct {
	addr, dir, prefix string
	// apiServer is the API server's address and an HTTP client with
	// its credentials: kube-apiserver serves /debug/pprof/ too
	// (--profiling defaults to true), and it is where a cold start's
	// CPU goes.
	apiServer     string
	apiServerHTTP *http.Client
}

func newProfiler(dir string, n int, apiServer *rest.Config) (*profiler, error) {
	if dir == "" {
		return nil, nil
	}
	hc, err := rest.HTTPClientFor(apiServer)
	if err != nil {
		return nil, fmt.Errorf("a client for the API server's profiles: %w", err)
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("SCALE_PROFILE_DIR: %w", err)
	}
	addr, err := devstack.FreeLoopbackAddr()
	if err != nil {
		return nil, err
	}
	return &profiler{addr: addr, dir: dir, prefix: fmt.Sprintf("N%d-", n),
		apiServer: strings.TrimRight(apiServer.Host, "/"), apiServerHTTP: hc}, nil
}

// cpu records a CPU profile over the next d, in the background.
func (p *profiler) cpu(ctx context.Context, name string, d time.Duration) {
	if p == nil {
		return
	}
	query := fmt.Sprintf("profile?seconds=%d", int(d.Seconds()))
	go p.save(ctx, http.DefaultClient, "http://"+p.addr, name, query)
	go p.save(ctx, p.apiServerHTTP, p.apiServer, "apiserver-"+name, query)
}

// heap saves the live heap now.
func (p *profiler) heap(ctx context.Context, name string) {
	if p == nil {
		return
	}
	p.save(ctx, http.DefaultClient, "http://"+p.addr, name, "heap?gc=1")
}

func (p *profiler) save(ctx context.Context, hc *http.Client, base, name, query string) {
	path := filepath.Join(p.dir, p.prefix+name+".pprof")
	err := func() error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/debug/pprof/"+query, nil)
		if err != nil {
			return err
		}
		resp, err := hc.Do(req)
		if err != nil {
			return err
		}
		defer func() { _ = resp.Body.Close() }()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("%s", resp.Status)
		}
		f, err := os.Create(path) //nolint:gosec // G304: under SCALE_PROFILE_DIR, chosen by whoever runs the benchmark
		if err != nil {
			return err
		}
		if _, err := io.Copy(f, resp.Body); err != nil {
			_ = f.Close()
			return err
		}
		return f.Close()
	}()
	if err != nil {
		fmt.Fprintf(os.Stderr, "profile %s: %v\n", name, err)
		return
	}
	fmt.Fprintf(os.Stderr, "profile %s saved to %s\n", name, path)
}
