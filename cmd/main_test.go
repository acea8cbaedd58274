package main

import (
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
