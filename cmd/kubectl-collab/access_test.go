package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/collab-dev/collaborator-operator/internal/plugin/access"
)

// The three output formats, against golden files (go test -run
// TestAccessGolden -update rewrites them).
func TestAccessGolden(t *testing.T) {
	_, kubeconfig := sharedEnv(t)
	tests := map[string]struct {
		args   []string
		golden string
	}{
		"all namespaces, table": {args: []string{"-A"}, golden: "access-all.table"},
		"all namespaces, json":  {args: []string{"-A", "-o", "json"}, golden: "access-all.json"},
		"all namespaces, csv":   {args: []string{"-A", "-o", "csv"}, golden: "access-all.csv"},
		"all namespaces, yaml":  {args: []string{"-A", "-o", "yaml"}, golden: "access-all.yaml"},
		"context's namespace":   {args: nil, golden: "access-trading.table"},
		"one person, table":     {args: []string{"-A", "--member", "LEE@example.com"}, golden: "access-lee.table"},
		"pages of one":          {args: []string{"-A", "--chunk-size", "1", "-o", "json"}, golden: "access-all.json"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			args := append([]string{"access", "--kubeconfig", kubeconfig}, tc.args...)
			stdout, stderr, err := collabCmd(t, args...)
			if err != nil || stderr != "" {
				t.Fatalf("access: %v\n%s", err, stderr)
			}
			golden := filepath.Join("testdata", tc.golden)
			if *update && !strings.Contains(name, "pages") {
				if err := os.WriteFile(golden, []byte(stdout), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden) //nolint:gosec // G304: the test's own golden file.
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if diff := cmp.Diff(string(want), stdout); diff != "" {
				t.Errorf("output differs from %s (-want +got):\n%s", golden, diff)
			}
		})
	}
}

// --member finds a person by QuantConnect user id or by any case of their
// email, QuantConnect rows by the email in their status, and unmanaged
// members by what the AccessPolicy reports.
func TestAccessMember(t *testing.T) {
	_, kubeconfig := sharedEnv(t)
	tests := map[string]struct {
		args []string
		want []string // namespace/name of the rows, in output order
	}{
		"quantconnect id":      {args: []string{"-A", "--member", "lee-q"}, want: []string{"trading/lee-q"}},
		"id is case-sensitive": {args: []string{"-A", "--member", "Lee-Q"}},
		"email, any case": {args: []string{"-A", "--member", "LEE@EXAMPLE.COM"},
			want: []string{"trading/lee-q", "research/lee-backtester", "web/lee"}},
		"email in one namespace": {args: []string{"-n", "research", "--member", "lee@example.com"},
			want: []string{"research/lee-backtester"}},
		"unmanaged member":      {args: []string{"-A", "--member", "mallory-q"}, want: []string{"trading/project-42"}},
		"not reconciled yet":    {args: []string{"-A", "--member", "kim-q"}, want: []string{"trading/new-hire"}},
		"appharbor user name":   {args: []string{"-A", "--member", "carol"}, want: []string{"research/backtester"}},
		"nobody":                {args: []string{"-A", "--member", "nobody@example.com"}},
		"email is not a prefix": {args: []string{"-A", "--member", "lee@example"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			args := append([]string{"access", "--kubeconfig", kubeconfig, "-o", "json"}, tc.args...)
			stdout, stderr, err := collabCmd(t, args...)
			if err != nil {
				t.Fatalf("access: %v\n%s", err, stderr)
			}
			var list access.List
			if err := json.Unmarshal([]byte(stdout), &list); err != nil {
				t.Fatalf("output is not an access list: %v\n%s", err, stdout)
			}
			got := make([]string, 0, len(list.Items))
			for _, r := range list.Items {
				got = append(got, r.Namespace+"/"+r.Name)
			}
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("rows (-want +got):\n%s", diff)
			}
		})
	}
}

// --fail-on exits 1 when a listed row matches and names the rows on stderr,
// after printing the review; bad arguments are refused before any output.
func TestAccessFailOn(t *testing.T) {
	_, kubeconfig := sharedEnv(t)
	tests := map[string]struct {
		args       []string
		wantErr    string   // "" for exit 0
		wantStderr []string // lines expected on stderr
		noStdout   bool
	}{
		"unmanaged": {args: []string{"-A", "--fail-on", "unmanaged"},
			wantErr: "2 row(s) match --fail-on unmanaged",
			wantStderr: []string{ // not sam-q: declared elsewhere
				"fail-on: accesspolicy research/backtester: carol on AppHarbor backtester (unmanaged)",
				"fail-on: accesspolicy trading/project-42: mallory-q on QuantConnect 42 (unmanaged)",
			}},
		"conflict": {args: []string{"-A", "--fail-on", "conflict"}, wantErr: "1 row(s) match",
			wantStderr: []string{"fail-on: collaborator trading/ana: ana-q on QuantConnect 42 (conflict)"}},
		"expiring within a week": {args: []string{"-A", "--fail-on", "expiring=7d"}, wantErr: "3 row(s) match",
			wantStderr: []string{
				"fail-on: collaborator research/bob: bob@example.com on WebTranslateIt organization (expired 2d ago)",
				"fail-on: collaborator web/lee: LEE@example.com on WebTranslateIt organization (in 3h)",
				"fail-on: collaborator trading/lee-q: lee-q on QuantConnect 42 (in 5d)",
			}},
		"expired only": {args: []string{"-A", "--fail-on", "expiring=1h"}, wantErr: "1 row(s) match"},
		"several reasons": {args: []string{"-n", "trading", "--fail-on", "conflict,unmanaged,expiring=720h"},
			wantErr: "3 row(s) match"}, // ana, lee-q, mallory-q
		"clean namespace":   {args: []string{"-n", "web", "--fail-on", "unmanaged,conflict"}},
		"clean person":      {args: []string{"-A", "--member", "bob@example.com", "--fail-on", "conflict"}},
		"unknown item":      {args: []string{"-A", "--fail-on", "stale"}, wantErr: "unknown item", noStdout: true},
		"bad duration":      {args: []string{"-A", "--fail-on", "expiring=soon"}, wantErr: "invalid", noStdout: true},
		"both -n and -A":    {args: []string{"-A", "-n", "web"}, wantErr: "either -n NAMESPACE or -A", noStdout: true},
		"unknown format":    {args: []string{"-o", "wide"}, wantErr: `-o "wide"`, noStdout: true},
		"positional args":   {args: []string{"lee"}, wantErr: "unknown command", noStdout: true},
		"empty fail-on arg": {args: []string{"--fail-on", ""}, wantErr: "empty", noStdout: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			args := append([]string{"access", "--kubeconfig", kubeconfig}, tc.args...)
			stdout, stderr, err := collabCmd(t, args...)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("exit 1: %v\n%s", err, stderr)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("err %v, want one mentioning %q", err, tc.wantErr)
			}
			for _, line := range tc.wantStderr {
				if !strings.Contains(stderr, line+"\n") {
					t.Errorf("stderr lacks %q:\n%s", line, stderr)
				}
			}
			if got := strings.Count(stderr, "fail-on: "); len(tc.wantStderr) > 0 && got != len(tc.wantStderr) {
				t.Errorf("stderr names %d rows, want %d:\n%s", got, len(tc.wantStderr), stderr)
			}
			if tc.noStdout != (stdout == "") {
				t.Errorf("stdout %q; want it empty: %v", stdout, tc.noStdout)
			}
		})
	}
}
