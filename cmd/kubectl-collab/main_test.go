package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// The command line refuses what it cannot serve before touching a cluster.
func TestRunRefusesBadArguments(t *testing.T) {
	tests := map[string]struct {
		args []string
		want string
	}{
		"no command":         {args: nil, want: "a command is required: access, renew or import"},
		"unknown command":    {args: []string{"export"}, want: `unknown command "export"`},
		"no provider config": {args: []string{"import", "--project", "1"}, want: "--provider-config is required"},
		"bad allow-list": {
			args: []string{"import", "--provider-config", "qc", "--allowed-provider-urls", "ftp://x"},
			want: "--allowed-provider-urls",
		},
		"unknown flag": {args: []string{"import", "--frobnicate"}, want: "frobnicate"},
		"kubeconfig unreadable": {
			args: []string{"import", "--provider-config", "qc", "--project", "1", "--kubeconfig", "/nonexistent", "-n", "x"},
			want: "kubeconfig",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), tc.args, &stdout, &stderr)
			if err == nil || !strings.Contains(err.Error()+stderr.String(), tc.want) {
				t.Errorf("err %v, stderr %q; want a refusal mentioning %q", err, stderr.String(), tc.want)
			}
			if stdout.Len() != 0 {
				t.Errorf("printed manifests on a refusal: %q", stdout.String())
			}
		})
	}
}
