package manager

import (
	"testing"
	"time"
)

// The manager waits at shutdown long enough for a provider call that has
// started and the external-id write after it, whatever --provider-timeout
// says, so a pod stop never loses an AppHarbor id.
func TestShutdownBudget(t *testing.T) {
	tests := map[string]struct {
		providerTimeout time.Duration
		want            time.Duration
	}{
		// The Deployment's terminationGracePeriodSeconds (75) is sized
		// for this.
		"default provider timeout": {providerTimeout: 30 * time.Second, want: time.Minute},
		"short provider timeout":   {providerTimeout: time.Second, want: 31 * time.Second},
		"long provider timeout":    {providerTimeout: 5 * time.Minute, want: 5*time.Minute + 30*time.Second},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := shutdownBudget(tc.providerTimeout)
			if got != tc.want {
				t.Errorf("shutdownBudget(%s) = %s; want %s", tc.providerTimeout, got, tc.want)
			}
			if least := tc.providerTimeout + criticalWriteTimeout; got <= least {
				t.Errorf("shutdownBudget(%s) = %s; want more than the provider call and the critical write, %s",
					tc.providerTimeout, got, least)
			}
		})
	}
}
