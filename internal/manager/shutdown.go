package manager

import (
	"time"

	"github.com/collab-dev/collaborator-operator/internal/controller"
)

// criticalWriteTimeout bounds the writes that must finish even while the
// manager stops, such as recording the external id after a create.
const criticalWriteTimeout = controller.CriticalWriteTimeout

// shutdownMargin is what the manager needs beyond its critical writes to
// stop its servers and release the leader lease.
const shutdownMargin = 15 * time.Second

// shutdownBudget is the manager's graceful shutdown timeout: long enough
// for a provider call that has started (providerTimeout) and the
// external-id write that follows it, so a pod stop never loses an
// AppHarbor id. With the defaults it is 60s; the Deployment's
// terminationGracePeriodSeconds (75) must be larger still.
func shutdownBudget(providerTimeout time.Duration) time.Duration {
	return providerTimeout + criticalWriteTimeout + shutdownMargin
}
