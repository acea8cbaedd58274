package devstack

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// SimulatorOptions configures StartSimulators.
type SimulatorOptions struct {
	// Name names the process and its log file; "simulator" when empty.
	// Several simulators with separate state need distinct names.
	Name string
	// Binary is the simulator's path (built from ./cmd/simulator).
	Binary string
	// Seed is the seed file holding the simulators' users, projects,
	// applications, organizations and tokens.
	Seed string
	// FreePorts runs each simulator on a free loopback port instead of the
	// fixed ones config/demo points at (127.0.0.1:18081-18083), so that
	// a test can run beside a demo; the URLs are then in Simulators.URLs.
	FreePorts bool
	// ExtraArgs are added after the stack's own flags.
	ExtraArgs []string
	// Timeout bounds the wait for the ready line; 30s when zero.
	Timeout time.Duration
}

// Simulators is the running simulator binary.
type Simulators struct {
	*Process
	// URLs are the ProviderConfig baseURLs of the simulators, by name:
	// quantconnect, appharbor and webtranslateit.
	URLs map[string]string
}

// StartSimulators runs the simulator binary seeded from opts.Seed and waits
// for the line it prints once every listener is bound
// ("simulator ready quantconnect=http://... appharbor=... webtranslateit=...").
func StartSimulators(ctx context.Context, s *Stack, opts SimulatorOptions) (*Simulators, error) {
	if _, err := os.Stat(opts.Seed); err != nil {
		return nil, fmt.Errorf("the simulators' seed file: %w", err)
	}
	args := []string{"--seed=" + opts.Seed}
	if opts.FreePorts {
		args = append(args,
			"--quantconnect-addr=127.0.0.1:0",
			"--appharbor-addr=127.0.0.1:0",
			"--webtranslateit-addr=127.0.0.1:0")
	}
	name := opts.Name
	if name == "" {
		name = "simulator"
	}
	p, err := s.Start(name, opts.Binary, append(args, opts.ExtraArgs...), nil)
	if err != nil {
		return nil, err
	}
	timeout := opts.Timeout
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	var urls map[string]string
	err = p.waitFor(ctx, timeout, "printing its ready line", func(context.Context) bool {
		urls = readyURLs(p.LogPath)
		return urls != nil
	})
	if err != nil {
		return &Simulators{Process: p}, err
	}
	return &Simulators{Process: p, URLs: urls}, nil
}

// readyURLs finds the simulator's ready line in its log and returns the
// URLs it announces, or nil before it is there.
func readyURLs(logPath string) map[string]string {
	f, err := os.Open(filepath.Clean(logPath))
	if err != nil {
		return nil
	}
	defer func() { _ = f.Close() }()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line, ok := strings.CutPrefix(sc.Text(), "simulator ready ")
		if !ok {
			continue
		}
		urls := map[string]string{}
		for _, kv := range strings.Fields(line) {
			if k, v, ok := strings.Cut(kv, "="); ok {
				urls[k] = v
			}
		}
		return urls
	}
	return nil
}
