// Command simulator runs the strict QuantConnect, AppHarbor and
// WebTranslateIt simulators on loopback, for the demo and end-to-end tests.
//
//	simulator --seed hack/simulator-seed.json \
//	  --quantconnect-addr 127.0.0.1:18081 \
//	  --appharbor-addr 127.0.0.1:18082 \
//	  --webtranslateit-addr 127.0.0.1:18083
//
// An empty address ("" or "off") leaves that simulator off; an address
// without a host (":18081") binds 127.0.0.1, never every interface; port 0
// picks a free port. Once every listener is bound it prints one line to
// stdout, which scripts wait for (wrapped here):
//
//	simulator ready quantconnect=http://127.0.0.1:18081/api/v2
//	  appharbor=http://127.0.0.1:18082 webtranslateit=http://127.0.0.1:18083
//
// The URLs are the ProviderConfig baseURLs. --log-requests prints each
// request to stderr with credentials redacted; --latency=50ms delays every
// answer as a distant SaaS API would (the scale benchmark uses it). SIGINT
// or SIGTERM stops it.
//
// The seed file is JSON or YAML (see hack/simulator-seed.json); unknown
// fields are refused so that a typo does not silently seed nothing:
//
//	{
//	  "quantConnect": {
//	    "users": [{"uid": 1001, "publicId": "olivia-owner", "name": "Olivia",
//	               "email": "olivia@example.com", "apiToken": "..."}],
//	               // the Secret's userID is the uid ("1001"), apiToken the token
//	    "projects": [{"id": 23456789, "owner": "olivia-owner",
//	                  "collaborators": [{"userId": "mia-ai", "liveControl": false, "write": true}]}]
//	  },
//	  "appHarbor": {
//	    "users": [{"id": "optional opaque id", "name": "bob", "email": "bob@example.com"}],
//	    "applications": [{"slug": "my-app",
//	                      "collaborators": [{"email": "bob@example.com", "role": "collaborator", "id": "optional"}]}],
//	    "tokens": [{"token": "...", "applications": ["my-app"]}]   // the Secret's accessToken
//	  },
//	  "webTranslateIt": {
//	    "organizations": [{"name": "acme", "token": "...", "members": ["bob@example.com"]}]
//	  }                                                      // the Secret's organizationToken
//	}
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"sigs.k8s.io/yaml"

	ahsim "github.com/collab-dev/collaborator-operator/internal/provider/appharbor/sim"
	qcsim "github.com/collab-dev/collaborator-operator/internal/provider/quantconnect/sim"
	"github.com/collab-dev/collaborator-operator/internal/provider/simkit"
	wtisim "github.com/collab-dev/collaborator-operator/internal/provider/webtranslateit/sim"
)

// seedFile is the seed file's shape; each block is optional.
type seedFile struct {
	QuantConnect   *qcsim.Seed  `json:"quantConnect,omitempty"`
	AppHarbor      *ahsim.Seed  `json:"appHarbor,omitempty"`
	WebTranslateIt *wtisim.Seed `json:"webTranslateIt,omitempty"`
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "simulator:", err)
		os.Exit(1)
	}
}

// run is main without process globals, so a test can start and stop it.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("simulator", flag.ContinueOnError)
	fs.SetOutput(stderr)
	qcAddr := fs.String("quantconnect-addr", "127.0.0.1:18081",
		"address of the QuantConnect simulator; empty or off to disable")
	ahAddr := fs.String("appharbor-addr", "127.0.0.1:18082",
		"address of the AppHarbor simulator; empty or off to disable")
	wtiAddr := fs.String("webtranslateit-addr", "127.0.0.1:18083",
		"address of the WebTranslateIt simulator; empty or off to disable")
	seedPath := fs.String("seed", "", "JSON or YAML seed file (users, projects, applications, tokens, organizations)")
	ahBase := fs.String("appharbor-base-url", "", "base of AppHarbor Location headers; default: the request's own host")
	logRequests := fs.Bool("log-requests", false, "print every request to stderr, credentials redacted")
	latency := fs.Duration("latency", 0,
		"delay every answer by this much (e.g. 50ms), as a real SaaS API over the internet would; 0 answers at once")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("parsing flags: %w", err)
	}
	if *latency < 0 {
		return fmt.Errorf("--latency must not be negative, not %s", *latency)
	}

	var seed seedFile
	if *seedPath != "" {
		var err error
		if seed, err = readSeed(*seedPath); err != nil {
			return err
		}
	}

	type sim struct {
		name, addr, suffix string
		handler            http.Handler
		kit                *simkit.Kit
	}
	var sims []sim
	if enabled(*qcAddr) {
		s := qcsim.New()
		if seed.QuantConnect != nil {
			if err := s.Seed(*seed.QuantConnect); err != nil {
				return fmt.Errorf("seeding QuantConnect: %w", err)
			}
		}
		sims = append(sims, sim{"quantconnect", *qcAddr, qcsim.PathPrefix, s, s.Kit})
	}
	if enabled(*ahAddr) {
		var opts []ahsim.Option
		if *ahBase != "" {
			opts = append(opts, ahsim.WithBaseURL(*ahBase))
		}
		s := ahsim.New(opts...)
		if seed.AppHarbor != nil {
			if err := s.Seed(*seed.AppHarbor); err != nil {
				return fmt.Errorf("seeding AppHarbor: %w", err)
			}
		}
		sims = append(sims, sim{"appharbor", *ahAddr, "", s, s.Kit})
	}
	if enabled(*wtiAddr) {
		s := wtisim.New()
		if seed.WebTranslateIt != nil {
			if err := s.Seed(*seed.WebTranslateIt); err != nil {
				return fmt.Errorf("seeding WebTranslateIt: %w", err)
			}
		}
		sims = append(sims, sim{"webtranslateit", *wtiAddr, "", s, s.Kit})
	}
	if len(sims) == 0 {
		return errors.New("every simulator is disabled")
	}

	// Bind everything before announcing, so the ready line is the truth.
	var listeners []net.Listener
	defer func() {
		for _, l := range listeners {
			_ = l.Close()
		}
	}()
	var lc net.ListenConfig
	ready := []string{"simulator ready"}
	for _, s := range sims {
		l, err := lc.Listen(ctx, "tcp", loopbackDefault(s.addr))
		if err != nil {
			return fmt.Errorf("listening for %s: %w", s.name, err)
		}
		listeners = append(listeners, l)
		s.kit.SetLatency(*latency)
		ready = append(ready, fmt.Sprintf("%s=http://%s%s", s.name, l.Addr(), s.suffix))
		if *logRequests {
			name := s.name
			// Best-effort request log: a failed write must not fail the request.
			s.kit.OnRequest = func(r simkit.RequestRecord) { _, _ = fmt.Fprintf(stderr, "%s %s\n", name, r) }
		}
	}

	errs := make(chan error, len(sims))
	servers := make([]*http.Server, len(sims))
	for i, s := range sims {
		servers[i] = &http.Server{Handler: s.handler, ReadHeaderTimeout: 10 * time.Second}
		go func(srv *http.Server, l net.Listener) {
			if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errs <- err
			}
		}(servers[i], listeners[i])
	}
	_, _ = fmt.Fprintln(stdout, strings.Join(ready, " "))

	var runErr error
	select {
	case <-ctx.Done():
	case err := <-errs:
		runErr = fmt.Errorf("serving: %w", err)
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	for _, srv := range servers {
		_ = srv.Shutdown(shutdownCtx)
	}
	return runErr
}

func enabled(addr string) bool {
	addr = strings.TrimSpace(addr)
	return addr != "" && addr != "off"
}

// loopbackDefault gives a host-less address the loopback host: ":18081"
// would otherwise listen on every interface.
func loopbackDefault(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || host != "" {
		return addr
	}
	return net.JoinHostPort("127.0.0.1", port)
}

func readSeed(path string) (seedFile, error) {
	raw, err := os.ReadFile(path) //nolint:gosec // the seed path is the operator's own command-line choice
	if err != nil {
		return seedFile{}, fmt.Errorf("reading seed: %w", err)
	}
	js, err := yaml.YAMLToJSON(raw)
	if err != nil {
		return seedFile{}, fmt.Errorf("parsing seed %s: %w", path, err)
	}
	var seed seedFile
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&seed); err != nil {
		return seedFile{}, fmt.Errorf("parsing seed %s: %w", path, err)
	}
	return seed, nil
}
