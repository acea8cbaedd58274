package devstack

import (
	"context"
	"fmt"
	"os"
	"time"
)

// DefaultSimulatorAddrs are where the simulator binary serves QuantConnect,
// AppHarbor and WebTranslateIt by default: the addresses config/samples
// point their ProviderConfigs' baseURLs at.
var DefaultSimulatorAddrs = []string{"127.0.0.1:18081", "127.0.0.1:18082", "127.0.0.1:18083"}

// SimulatorOptions configures StartSimulators.
type SimulatorOptions struct {
	// Binary is the simulator's path (built from ./cmd/simulator).
	Binary string
	// Seed is the seed file holding the simulators' users, projects,
	// applications, organizations and credentials.
	Seed string
	// ExtraArgs are added after the seed flag.
	ExtraArgs []string
	// Addrs are the addresses to wait for; DefaultSimulatorAddrs when nil.
	Addrs []string
	// Timeout bounds the wait; 30s when zero.
	Timeout time.Duration
}

// StartSimulators runs the simulator binary seeded from opts.Seed and waits
// until it accepts connections on every address.
func StartSimulators(ctx context.Context, s *Stack, opts SimulatorOptions) (*Process, error) {
	if _, err := os.Stat(opts.Seed); err != nil {
		return nil, fmt.Errorf("the simulators' seed file: %w", err)
	}
	args := append([]string{"--seed=" + opts.Seed}, opts.ExtraArgs...)
	p, err := s.Start("simulator", opts.Binary, args, nil)
	if err != nil {
		return nil, err
	}
	addrs := opts.Addrs
	if addrs == nil {
		addrs = DefaultSimulatorAddrs
	}
	timeout := opts.Timeout
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	if err := p.WaitTCP(ctx, addrs, timeout); err != nil {
		return p, err
	}
	return p, nil
}
