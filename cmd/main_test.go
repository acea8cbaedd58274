package main

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/collab-dev/collaborator-operator/internal/manager"
	"github.com/collab-dev/collaborator-operator/internal/provider"
)

// parseFlags binds the manager's flags to a new flag set and parses args.
func parseFlags(t *testing.T, args ...string) *flags {
	t.Helper()
	fs := flag.NewFlagSet("manager", flag.ContinueOnError)
	var f flags
	f.bind(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatalf("parsing %q: %v", args, err)
	}
	return &f
}

// allowList parses an --allowed-provider-urls value the test knows is valid.
func allowList(t *testing.T, list string) *provider.URLAllowList {
	t.Helper()
	a, err := provider.ParseURLAllowList(list)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// The flags' names and defaults are the manager's interface: the
// Deployment, the Helm chart and the docs use them.
func TestFlagDefaults(t *testing.T) {
	fs := flag.NewFlagSet("manager", flag.ContinueOnError)
	new(flags).bind(fs)
	got := map[string]string{}
	fs.VisitAll(func(fl *flag.Flag) {
		got[fl.Name] = fl.DefValue
		if fl.Usage == "" {
			t.Errorf("--%s has no help text", fl.Name)
		}
	})
	want := map[string]string{
		"metrics-bind-address":      "0",
		"health-probe-bind-address": ":8081",
		"pprof-bind-address":        "0",
		"leader-elect":              "false",
		"metrics-secure":            "true",
		"leader-election-namespace": "",
		"watch-namespaces":          "",
		"metrics-cert-path":         "",
		"metrics-cert-name":         "tls.crt",
		"metrics-cert-key":          "tls.key",
		"enable-http2":              "false",
		"max-concurrent-reconciles": "16",
		"allowed-provider-urls":     provider.DefaultAllowedURLs,
		"provider-timeout":          "30s",
		// Outside a cluster: no service account namespace to read.
		"cluster-resource-namespace": fallbackClusterResourceNamespace,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("flags and defaults (-want +got):\n%s", diff)
	}
}

// options parses each flag once into the manager's Options, and refuses
// nonsense with an error that names every wrong flag.
func TestFlagsOptions(t *testing.T) {
	defaults := manager.Options{
		MetricsAddr:     "0",
		SecureMetrics:   true,
		MetricsCertName: "tls.crt",
		MetricsCertKey:  "tls.key",
		ProbeAddr:       ":8081",
		PprofAddr:       "0",

		MaxConcurrentReconciles:  16,
		ProviderTimeout:          30 * time.Second,
		AllowedURLs:              allowList(t, provider.DefaultAllowedURLs),
		ClusterResourceNamespace: fallbackClusterResourceNamespace,
	}
	with := func(change func(*manager.Options)) manager.Options {
		o := defaults
		change(&o)
		return o
	}
	tests := map[string]struct {
		args []string
		want manager.Options
		// wantErrs are the beginnings of the error's lines, one per
		// wrong flag.
		wantErrs []string
	}{
		"defaults": {want: defaults},
		"every flag": {
			args: []string{
				"--metrics-bind-address=:8443", "--metrics-secure=false", "--metrics-cert-path=/certs",
				"--metrics-cert-name=c.pem", "--metrics-cert-key=k.pem", "--enable-http2",
				"--health-probe-bind-address=:9090", "--pprof-bind-address=127.0.0.1:6060",
				"--leader-elect", "--leader-election-namespace=ops", "--watch-namespaces=team-a",
				"--max-concurrent-reconciles=4", "--provider-timeout=5s",
				"--allowed-provider-urls=https://provider.example/api", "--cluster-resource-namespace=platform",
			},
			want: manager.Options{
				MetricsAddr:              ":8443",
				MetricsCertPath:          "/certs",
				MetricsCertName:          "c.pem",
				MetricsCertKey:           "k.pem",
				EnableHTTP2:              true,
				ProbeAddr:                ":9090",
				PprofAddr:                "127.0.0.1:6060",
				LeaderElection:           true,
				LeaderElectionNamespace:  "ops",
				WatchNamespaces:          []string{"team-a"},
				MaxConcurrentReconciles:  4,
				ProviderTimeout:          5 * time.Second,
				AllowedURLs:              allowList(t, "https://provider.example/api"),
				ClusterResourceNamespace: "platform",
			},
		},
		"bad cluster resource namespace": {
			args:     []string{"--cluster-resource-namespace=Platform"},
			wantErrs: []string{`--cluster-resource-namespace: "Platform" is not a namespace name: `},
		},
		"namespaces without blanks and duplicates": {
			args: []string{"--watch-namespaces= team-a , ,team-b,team-a,"},
			want: with(func(o *manager.Options) { o.WatchNamespaces = []string{"team-a", "team-b"} }),
		},
		"only blanks: all namespaces": {
			args: []string{"--watch-namespaces= , "},
			want: defaults,
		},
		"no concurrency": {
			args:     []string{"--max-concurrent-reconciles=0"},
			wantErrs: []string{"--max-concurrent-reconciles must be at least 1, not 0"},
		},
		"unparsable provider URL allow-list": {
			args:     []string{"--allowed-provider-urls=appharbor.com"},
			wantErrs: []string{`--allowed-provider-urls: allowed provider URL "appharbor.com"`},
		},
		"empty provider URL allow-list": {
			args:     []string{"--allowed-provider-urls=,"},
			wantErrs: []string{"--allowed-provider-urls: "},
		},
		"zero provider timeout": {
			args:     []string{"--provider-timeout=0s"},
			wantErrs: []string{"--provider-timeout must be a positive duration such as 30s, not 0s"},
		},
		"negative provider timeout": {
			args:     []string{"--provider-timeout=-1s"},
			wantErrs: []string{"--provider-timeout must be a positive duration such as 30s, not -1s"},
		},
		"bad namespace": {
			args:     []string{"--watch-namespaces=team-a,Team_B"},
			wantErrs: []string{`--watch-namespaces: "Team_B" is not a namespace name: `},
		},
		"no probe address": {
			args:     []string{"--health-probe-bind-address="},
			wantErrs: []string{"--health-probe-bind-address must not be empty"},
		},
		"every error at once": {
			args: []string{
				"--max-concurrent-reconciles=-1", "--allowed-provider-urls=ftp://x", "--provider-timeout=0s",
				"--watch-namespaces=a_b,C", "--health-probe-bind-address=",
			},
			wantErrs: []string{
				"--max-concurrent-reconciles must be at least 1",
				"--allowed-provider-urls: ",
				"--provider-timeout must be a positive duration",
				`--watch-namespaces: "a_b"`,
				`--watch-namespaces: "C"`,
				"--health-probe-bind-address must not be empty",
			},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := parseFlags(t, tc.args...).options()
			if tc.wantErrs != nil {
				if err == nil {
					t.Fatalf("options() accepted %q: %+v", tc.args, got)
				}
				lines := strings.Split(err.Error(), "\n")
				if len(lines) != len(tc.wantErrs) {
					t.Fatalf("error has %d lines; want %d:\n%v", len(lines), len(tc.wantErrs), err)
				}
				for i, want := range tc.wantErrs {
					if !strings.HasPrefix(lines[i], want) {
						t.Errorf("error line %d: %q; want it to begin with %q", i, lines[i], want)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("options(): %v", err)
			}
			if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(provider.URLAllowList{})); diff != "" {
				t.Errorf("options (-want +got):\n%s", diff)
			}
		})
	}
}

// In a cluster the cluster resource namespace defaults to the service
// account's; elsewhere, to the install manifests' namespace.
func TestDefaultClusterResourceNamespace(t *testing.T) {
	dir := t.TempDir()
	tests := map[string]struct {
		content *string
		want    string
	}{
		"in a cluster":          {content: ptr("platform-ops\n"), want: "platform-ops"},
		"outside a cluster":     {want: fallbackClusterResourceNamespace},
		"an empty service file": {content: ptr(" \n"), want: fallbackClusterResourceNamespace},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			file := filepath.Join(dir, strings.ReplaceAll(name, " ", "-"))
			if tc.content != nil {
				if err := os.WriteFile(file, []byte(*tc.content), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			if got := defaultClusterResourceNamespace(file); got != tc.want {
				t.Errorf("defaultClusterResourceNamespace() = %q, want %q", got, tc.want)
			}
		})
	}
}

func ptr(s string) *string { return &s }
