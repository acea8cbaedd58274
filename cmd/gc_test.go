package main

import (
	"os"
	"runtime/debug"
	"testing"
)

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
