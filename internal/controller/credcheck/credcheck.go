// Package credcheck is the pass that the credentials objects,
// ProviderConfig and ClusterProviderConfig, share: Ready from whether their
// credentials are present and, where the provider offers a check,
// accepted; and the collab.dev/in-use finalizer held while Collaborators
// use them, so their deletes never lose their credentials.
package credcheck

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
	"github.com/collab-dev/collaborator-operator/internal/controller/connector"
	"github.com/collab-dev/collaborator-operator/internal/controller/engine"
	"github.com/collab-dev/collaborator-operator/internal/controller/inuse"
	"github.com/collab-dev/collaborator-operator/internal/controller/uninstall"
	"github.com/collab-dev/collaborator-operator/internal/controller/usage"
	"github.com/collab-dev/collaborator-operator/internal/provider"
)

// Checker runs the shared pass. One per reconciler: it remembers the
// credentials checks it made.
type Checker struct {
	// Client reads through the manager's cache and writes to the API server.
	Client client.Client
	// Connector is the manager's one connector.
	Connector *connector.Connector
	// Retry is the reconciler's retry policy.
	Retry *engine.RetryPolicy
	// Uninstall says when the operator is being uninstalled; nil never does.
	Uninstall *uninstall.Watch

	mu      sync.Mutex
	checked map[client.ObjectKey]credentialCheck
}

// credentialCheck is a successful credentials check: of which object
// generation and Secret version, and when.
type credentialCheck struct {
	version string
	at      time.Time
}

// Forget drops what is remembered of a credentials object that is gone:
// its check, and the connector's client.
func (c *Checker) Forget(key client.ObjectKey) {
	c.Connector.Forget(key)
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.checked, key)
}

// Run is one pass over obj (a ProviderConfig or a ClusterProviderConfig,
// whose Collaborators usage finds by its key: a ClusterProviderConfig's
// has no namespace), with its conditions conds, writing status through st.
func Run[T client.Object](ctx context.Context, c *Checker, obj T, conds *[]metav1.Condition, st *engine.StatusWriter[T]) (ctrl.Result, error) {
	gen, kind := obj.GetGeneration(), kindOf(obj)
	deleting := !obj.GetDeletionTimestamp().IsZero()
	// A new object must never read as healthy (kstatus calls an object
	// without conditions Current), so its first pass says "in progress"
	// before the credentials check, which can take a while.
	if meta.FindStatusCondition(*conds, collabv1alpha1.ConditionReady) == nil && !deleting {
		engine.MarkProgress(conds, gen, metav1.ConditionUnknown, collabv1alpha1.ReasonCreating, "Checking the credentials")
		if err := st.Write(ctx, obj); err != nil {
			return ctrl.Result{}, err
		}
	}

	// Only an object being deleted names its users; otherwise whether it
	// has any is enough.
	key := client.ObjectKeyFromObject(obj)
	var users []reconcile.Request
	used, err := usage.InUseByCollaborators(ctx, c.Client, key.Namespace, key.Name)
	if err == nil && used && deleting {
		users, err = usage.CollaboratorsUsing(ctx, c.Client, key.Namespace, key.Name)
	}
	if err != nil {
		// Never read a failed List as "unused": that would drop the
		// finalizer that keeps pending deletes able to log in.
		return ctrl.Result{}, err
	}
	// Uninstalling never revokes: no delete will need these credentials,
	// and a finalizer left behind would leave the object Terminating.
	uninstalling := c.Uninstall.Uninstalling()
	if uninstalling {
		used = false
	}
	if err := c.syncFinalizer(ctx, obj, used); err != nil {
		if apierrors.IsConflict(err) {
			return ctrl.Result{RequeueAfter: inuse.ConflictRetry}, nil
		}
		return ctrl.Result{}, err
	}
	if deleting {
		if used {
			msg := fmt.Sprintf("Deletion waits until no Collaborator uses this %s; still used by %s", kind, names(users, key.Namespace == ""))
			engine.SetCondition(conds, gen, collabv1alpha1.ConditionReconciling, metav1.ConditionTrue, collabv1alpha1.ReasonInUse, msg)
		} else {
			st.Skip()
		}
		return ctrl.Result{}, nil
	}
	if uninstalling {
		// Nothing will use the credentials: no provider call.
		return ctrl.Result{}, nil
	}

	conn, err := c.Connector.Connect(ctx, obj)
	var checkedAt time.Time
	if err == nil {
		checkedAt, err = c.check(ctx, conn)
	}
	if err != nil {
		f := engine.Classify(err)
		msg := fmt.Sprintf("%s. %s", engine.Sentence(err), engine.Advice(f.Reason))
		// A rate limit says nothing about the credentials: flipping Ready
		// would requeue every Collaborator of this object into the same
		// limit.
		engine.MarkFailure(conds, gen, f, f.Reason, msg, f.Reason == collabv1alpha1.ReasonRateLimited && engine.IsReady(*conds, gen))
		logf.FromContext(ctx).Info(kind+" not usable", "reason", f.Reason, "error", err.Error())
		return c.Retry.Failed(obj, f), nil
	}
	ep := conn.Endpoint
	msg := fmt.Sprintf("Secret %q holds the %s credentials", ep.SecretName, ep.Provider)
	synced := ep.Provider + " accepted the credentials"
	if conn.Client.Capabilities().CheckCredentials {
		msg += " and " + ep.Provider + " accepted them"
	} else {
		msg += "; " + ep.Provider + " offers no way to check them before use"
		synced = ep.Provider + " was not called: it offers no credentials check"
	}
	engine.MarkHealthy(conds, gen, collabv1alpha1.ReasonAvailable, msg, synced)
	c.Retry.Succeeded(obj)
	return ctrl.Result{RequeueAfter: engine.NextRead(checkedAt, conn.Spec.SyncIntervalOrDefault())}, nil
}

// check asks the provider to accept the credentials, where it can, at most
// once per sync interval for the same object generation and Secret
// version: the pass also runs whenever a Collaborator comes or goes, and
// those events say nothing new about the credentials. It returns when the
// credentials were last accepted.
func (c *Checker) check(ctx context.Context, conn *connector.Connection) (time.Time, error) {
	a, ok := conn.Client.(provider.Authenticator)
	if !conn.Client.Capabilities().CheckCredentials || !ok {
		return time.Time{}, nil
	}
	key := client.ObjectKeyFromObject(conn.Config)
	c.mu.Lock()
	last, seen := c.checked[key]
	c.mu.Unlock()
	if seen && last.version == conn.Version && time.Since(last.at) < conn.Spec.SyncIntervalOrDefault() {
		return last.at, nil
	}
	err := a.Authenticate(ctx)
	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil {
		delete(c.checked, key)
		return time.Time{}, fmt.Errorf("checking credentials: %w", err)
	}
	if c.checked == nil {
		c.checked = map[client.ObjectKey]credentialCheck{}
	}
	now := time.Now()
	c.checked[key] = credentialCheck{version: conn.Version, at: now}
	return now, nil
}

// syncFinalizer holds the in-use finalizer exactly while the object is
// used. A terminating object cannot gain finalizers, so only removal is
// tried there.
func (c *Checker) syncFinalizer(ctx context.Context, obj client.Object, used bool) error {
	has := controllerutil.ContainsFinalizer(obj, collabv1alpha1.InUseFinalizer)
	if has == used || (used && !obj.GetDeletionTimestamp().IsZero()) {
		return nil
	}
	if err := connector.PatchFinalizer(ctx, c.Client, obj, used); err != nil {
		return client.IgnoreNotFound(fmt.Errorf("updating in-use finalizer: %w", err))
	}
	return nil
}

// kindOf names the object's kind in messages.
func kindOf(obj client.Object) string {
	if obj.GetNamespace() == "" {
		return collabv1alpha1.KindClusterProviderConfig
	}
	return collabv1alpha1.KindProviderConfig
}

// names lists a few Collaborators for a message: by name in the object's
// own namespace, by namespace/name for a ClusterProviderConfig (whose
// status only the cluster's administrators read).
func names(reqs []reconcile.Request, cluster bool) string {
	const shown = 5
	n := make([]string, 0, len(reqs))
	for _, r := range reqs {
		if cluster {
			n = append(n, r.String())
		} else {
			n = append(n, r.Name)
		}
	}
	sort.Strings(n)
	if len(n) > shown {
		return fmt.Sprintf("%s and %d more", strings.Join(n[:shown], ", "), len(n)-shown)
	}
	return strings.Join(n, ", ")
}
