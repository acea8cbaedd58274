package main

import (
	"os"
	"runtime/debug"
	"testing"
	"time"

	"github.com/collab-dev/collaborator-operator/internal/controller"
)

// The manager waits at shutdown long enough for a provider call that has
// started and the external-id write after it, whatever --provider-timeout
// says, so a pod stop never loses an AppHarbor id.
func TestShutdownBudget(t *testing.T) {
	for _, providerTimeout := range []time.Duration{time.Second, 30 * time.Second, 5 * time.Minute} {
		if got, least := shutdownBudget(providerTimeout), providerTimeout+controller.CriticalWriteTimeout; got <= least {
			t.Errorf("shutdownBudget(%s) = %s; want more than %s", providerTimeout, got, least)
		}
	}
	if got := shutdownBudget(30 * time.Second); got != time.Minute {
		t.Errorf("default shutdown budget %s; the Deployment's terminationGracePeriodSeconds (75) is sized for 60s", got)
	}
}

// The manager collects garbage at GOGC=50 unless GOGC says otherwise.
func TestGCPercent(t *testing.T) {
	tests := map[string]struct {
		gogc        string
		set         bool
		wantApplied bool
	}{
		"unset":    {wantApplied: true},
		"empty":    {gogc: "", set: true, wantApplied: true},
		"GOGC=100": {gogc: "100", set: true},
		"GOGC=off": {gogc: "off", set: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Setenv("GOGC", tc.gogc) // restores the variable afterwards
			if !tc.set {
				if err := os.Unsetenv("GOGC"); err != nil {
					t.Fatal(err)
				}
			}
			before := debug.SetGCPercent(100)
			t.Cleanup(func() { debug.SetGCPercent(before) })
			applied := setGCPercent()
			if applied != tc.wantApplied {
				t.Errorf("setGCPercent() = %v; want %v", applied, tc.wantApplied)
			}
			want := 100
			if tc.wantApplied {
				want = defaultGCPercent
			}
			if got := debug.SetGCPercent(100); got != want {
				t.Errorf("GC percent %d; want %d", got, want)
			}
		})
	}
}
