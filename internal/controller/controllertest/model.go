package controllertest

import (
	"testing"

	"github.com/collab-dev/collaborator-operator/internal/controller/connector"
)

// Reporter is the part of a test's T that an Env reports to: what
// testing.T offers for failing, skipping and logging. The T of a
// property-based test (pgregory.net/rapid's *rapid.T) has it.
type Reporter interface { //nolint:interfacebloat // the failing, skipping and logging half of testing.TB
	Helper()
	Name() string
	Log(args ...any)
	Logf(format string, args ...any)
	Error(args ...any)
	Errorf(format string, args ...any)
	Fatal(args ...any)
	Fatalf(format string, args ...any)
	Fail()
	FailNow()
	Failed() bool
	Skip(args ...any)
	Skipf(format string, args ...any)
	SkipNow()
}

// Within returns a testing.TB for New whose failures, skips and logs go to
// inner, and whose other methods (TempDir, Setenv, Context...) are
// outer's. A property-based test builds one Env per generated case with
// Within(t, rt): a failure then ends that case, as the property-based
// library needs to shrink it, instead of ending the whole test.
func Within(outer testing.TB, inner Reporter) testing.TB {
	return nested{TB: outer, inner: inner}
}

type nested struct {
	testing.TB
	inner Reporter
}

func (n nested) Helper()                           { n.inner.Helper() }
func (n nested) Name() string                      { return n.inner.Name() }
func (n nested) Log(args ...any)                   { n.inner.Log(args...) }
func (n nested) Logf(format string, args ...any)   { n.inner.Logf(format, args...) }
func (n nested) Error(args ...any)                 { n.inner.Error(args...) }
func (n nested) Errorf(format string, args ...any) { n.inner.Errorf(format, args...) }
func (n nested) Fatal(args ...any)                 { n.inner.Fatal(args...) }
func (n nested) Fatalf(format string, args ...any) { n.inner.Fatalf(format, args...) }
func (n nested) Fail()                             { n.inner.Fail() }
func (n nested) FailNow()                          { n.inner.FailNow() }
func (n nested) Failed() bool                      { return n.inner.Failed() }
func (n nested) Skip(args ...any)                  { n.inner.Skip(args...) }
func (n nested) Skipf(format string, args ...any)  { n.inner.Skipf(format, args...) }
func (n nested) SkipNow()                          { n.inner.SkipNow() }

// Cleanup registers f with inner when it offers Cleanup (rapid's T runs
// it at the end of the case), else with outer.
func (n nested) Cleanup(f func()) {
	if c, ok := n.inner.(interface{ Cleanup(func()) }); ok {
		c.Cleanup(f)
		return
	}
	n.TB.Cleanup(f)
}

// NewConnector builds another connector over the same world, as a
// restarted manager builds its own: nothing the Env's Connector (or an
// earlier NewConnector) built or cached is shared with it. The fake
// client's objects and the fake providers' truth stay as they are.
func (e *Env) NewConnector() *connector.Connector {
	return connector.New(connector.Options{
		Client: e.Client, SecretReader: e.Client, Providers: e.Registry, AllowedURLs: e.allowed,
		ClusterResourceNamespace: e.clusterNS,
	})
}

// WithoutManagedFields builds the fake client on client-go's plain object
// tracker instead of its field-managed one. Everything the reconcilers
// use behaves the same (finalizers and deletion timestamps, status
// subresources, optimistic locks, field indexes); what goes is
// server-side apply, which no reconciler sends, and managedFields. It
// makes a world several times cheaper to build and each write cheaper
// (the field-managed tracker rebuilds a REST mapper of the whole scheme
// on every write), for tests that build thousands of worlds
// (collaborator's TestModelTrust).
func WithoutManagedFields() Option { return func(c *config) { c.plainTracker = true } }
