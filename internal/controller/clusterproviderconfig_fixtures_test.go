package controller

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
	"github.com/collab-dev/collaborator-operator/internal/provider/simkit"
)

// The ClusterProviderConfig tests share the cluster-scoped kind with every
// manager that serves it, so none of them runs in parallel: a parallel
// test's manager serves none (startManager without clusterNS).

// clusterFixture is a fixture whose manager serves ClusterProviderConfigs,
// with their Secrets in a namespace of its own.
type clusterFixture struct {
	*fixture
	// clusterNS is the cluster resource namespace.
	clusterNS string
	// cpc names the test's ClusterProviderConfig (cluster-scoped, so unique
	// per test).
	cpc string
}

// newClusterFixture starts a manager (with o) serving
// ClusterProviderConfigs that sees the fixture's namespace and others.
func newClusterFixture(t *testing.T, o managerOptions, others ...string) *clusterFixture {
	t.Helper()
	f := newFixture(t)
	cf := &clusterFixture{fixture: f, clusterNS: newNamespace(t), cpc: "org-" + f.ns}
	o.alsoWatch, o.clusterNS = others, cf.clusterNS
	startManager(t, f.ns, f.reg, o)
	return cf
}

// createClusterConfig creates the QuantConnect Secret in the cluster
// resource namespace and the ClusterProviderConfig with grants.
func (f *clusterFixture) createClusterConfig(grants ...collabv1alpha1.ClusterGrant) {
	f.t.Helper()
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "qc-org", Namespace: f.clusterNS}, StringData: map[string]string{
		collabv1alpha1.QuantConnectUserIDKey: fmt.Sprint(qcOwnerUID), collabv1alpha1.QuantConnectAPITokenKey: qcToken,
	}}
	must(f.t, k8s.Create(context.Background(), secret))
	cpc := &collabv1alpha1.ClusterProviderConfig{
		ObjectMeta: metav1.ObjectMeta{Name: f.cpc},
		Spec: collabv1alpha1.ClusterProviderConfigSpec{
			ProviderConfigSpec: collabv1alpha1.ProviderConfigSpec{
				SyncInterval: &metav1.Duration{Duration: time.Minute},
				QuantConnect: &collabv1alpha1.QuantConnectConfig{
					BaseURL: f.qcURL, CredentialsSecretRef: collabv1alpha1.SecretReference{Name: "qc-org"},
				},
			},
			Grants: grants,
		},
	}
	must(f.t, k8s.Create(context.Background(), cpc))
	f.t.Cleanup(func() {
		// The manager has stopped: nothing removes the in-use finalizer.
		ctx := context.Background()
		if err := k8s.Get(ctx, client.ObjectKeyFromObject(cpc), cpc); err == nil {
			controllerutil.RemoveFinalizer(cpc, collabv1alpha1.InUseFinalizer)
			_ = k8s.Update(ctx, cpc)
			_ = k8s.Delete(ctx, cpc)
		}
	})
}

// clusterConfig reads the test's ClusterProviderConfig.
func (f *clusterFixture) clusterConfig() *collabv1alpha1.ClusterProviderConfig {
	f.t.Helper()
	cpc := &collabv1alpha1.ClusterProviderConfig{}
	must(f.t, k8s.Get(context.Background(), client.ObjectKey{Name: f.cpc}, cpc))
	return cpc
}

// setGrants replaces the ClusterProviderConfig's grants.
func (f *clusterFixture) setGrants(grants ...collabv1alpha1.ClusterGrant) {
	f.t.Helper()
	eventually(f.t, 10*time.Second, func() error {
		cpc := f.clusterConfig()
		cpc.Spec.Grants = grants
		return k8s.Update(context.Background(), cpc)
	})
}

// viaCluster is a QuantConnect Collaborator through the test's
// ClusterProviderConfig.
func (f *clusterFixture) viaCluster(name, user string, project int64, write, live bool) *collabv1alpha1.Collaborator {
	c := qcCollaborator(name, f.cpc, user, write, live)
	c.Spec.ProviderConfigRef.Kind = collabv1alpha1.KindClusterProviderConfig
	c.Spec.QuantConnect.ProjectID = project
	return c
}

// in is the fixture moved to another namespace, as a second team is.
func (f *clusterFixture) in(ns string) *clusterFixture {
	other := *f.fixture
	other.ns = ns
	return &clusterFixture{fixture: &other, clusterNS: f.clusterNS, cpc: f.cpc}
}

// hasInUse reports whether the object, read from the API server, holds
// the in-use finalizer.
func hasInUse(t *testing.T, key client.ObjectKey, obj client.Object) error {
	t.Helper()
	if err := k8s.Get(context.Background(), key, obj); err != nil {
		return err
	}
	if !controllerutil.ContainsFinalizer(obj, collabv1alpha1.InUseFinalizer) {
		return fmt.Errorf("%T %s has no in-use finalizer: %v", obj, key, obj.GetFinalizers())
	}
	return nil
}

// isCollaborationCall picks the QuantConnect calls about collaborators (the
// ClusterProviderConfig's own credentials check is /authenticate).
func isCollaborationCall(r simkit.RequestRecord) bool {
	return strings.Contains(r.Path, "/projects/collaboration/")
}

// readyErr says why a Collaborator is not Ready at its generation.
func readyErr(c *collabv1alpha1.Collaborator) error {
	cond := meta.FindStatusCondition(c.Status.Conditions, collabv1alpha1.ConditionReady)
	if cond == nil || cond.Status != metav1.ConditionTrue || cond.ObservedGeneration != c.Generation {
		return fmt.Errorf("%s not Ready: %+v", c.Name, cond)
	}
	return nil
}
