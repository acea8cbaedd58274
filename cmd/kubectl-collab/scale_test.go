package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sync/errgroup"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	"github.com/collab-dev/collaborator-operator/internal/plugin/access"
	"github.com/collab-dev/collaborator-operator/test/testenv"
)

// With -A the review reads each kind in pages (Limit and Continue), and
// the pages add up to what one unlimited read would give.
func TestAccessPages(t *testing.T) {
	sharedEnv(t)
	ctx := context.Background()
	lists := map[string]int{}
	base, err := client.NewWithWatch(shared.cfg, client.Options{Scheme: testenv.Scheme()})
	must(t, err)
	counting := interceptor.NewClient(base, interceptor.Funcs{
		List: func(ctx context.Context, c client.WithWatch, list client.ObjectList, opts ...client.ListOption) error {
			lists[fmt.Sprintf("%T", list)]++
			return c.List(ctx, list, opts...)
		},
	})
	paged, err := access.Review(ctx, counting, access.Request{AllNamespaces: true, PageSize: 2})
	must(t, err)
	whole, err := access.Review(ctx, base, access.Request{AllNamespaces: true, PageSize: 10_000})
	must(t, err)
	if diff := cmp.Diff(whole.Rows, paged.Rows); diff != "" {
		t.Errorf("paged rows differ (-whole +paged):\n%s", diff)
	}
	// 6 Collaborators in pages of 2 (plus any left by other tests), 2
	// AccessPolicies in one page.
	if lists["*v1alpha1.CollaboratorList"] < 3 || lists["*v1alpha1.AccessPolicyList"] != 1 {
		t.Errorf("List calls %v; want at least 3 pages of Collaborators and one of AccessPolicies", lists)
	}
}

// TestAccessScale measures `access -A` over 10,000 Collaborators in 20
// namespaces on its own API server. It asserts no time (machines differ)
// and prints the figures; set COLLAB_ACCESS_SCALE=1 to run it:
//
//	COLLAB_ACCESS_SCALE=1 go test ./cmd/kubectl-collab -run TestAccessScale -v
func TestAccessScale(t *testing.T) {
	if os.Getenv("COLLAB_ACCESS_SCALE") == "" {
		t.Skip("set COLLAB_ACCESS_SCALE=1 to list 10,000 Collaborators")
	}
	const total, namespaces = 10_000, 20
	env, cfg, err := testenv.Start()
	must(t, err)
	t.Cleanup(func() { _ = env.Stop() })
	cl, err := client.New(cfg, client.Options{Scheme: testenv.Scheme()})
	must(t, err)
	ctx := context.Background()
	for n := range namespaces {
		must(t, cl.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("team-%02d", n)}}))
	}
	start := time.Now()
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(32)
	for i := range total {
		g.Go(func() error { return createCollaborator(gctx, cl, scaleFixture(i, namespaces)) })
	}
	must(t, g.Wait())
	t.Logf("created %d Collaborators with status in %v", total, time.Since(start).Round(time.Millisecond))

	kubeconfig := writeKubeconfig(t, cfg, "team-00")
	for _, args := range [][]string{
		{"-A"}, {"-A", "-o", "json"}, {"-A", "-o", "csv"}, {"-A", "--member", "user-4242@example.com"},
	} {
		var stdout, stderr bytes.Buffer
		start := time.Now()
		err := runWith(ctx, clock, append([]string{"access", "--kubeconfig", kubeconfig}, args...), &stdout, &stderr)
		elapsed := time.Since(start)
		if err != nil {
			t.Fatalf("access %v: %v\n%s", args, err, stderr.String())
		}
		rows := strings.Count(stdout.String(), "\n")
		fmt.Printf("kubectl collab access %s: %v (%d output lines, %d bytes)\n",
			strings.Join(args, " "), elapsed.Round(time.Millisecond), rows, stdout.Len())
	}
}

// scaleFixture is the i-th of the scale test's Collaborators: the three
// providers in turn, a third of them expiring, all with a Ready reason.
func scaleFixture(i, namespaces int) collab {
	f := collab{ns: fmt.Sprintf("team-%02d", i%namespaces), name: fmt.Sprintf("c-%05d", i), reason: "Available"}
	email := fmt.Sprintf("user-%d@example.com", i)
	switch i % 3 {
	case 0:
		f.spec, f.email = qc(int64(1+i%50), fmt.Sprintf("user-%d", i), i%2 == 0, false), email
	case 1:
		f.spec = ah(fmt.Sprintf("app-%d", i%50), email, "collaborator")
		f.expires = in(time.Duration(i) * time.Hour)
	default:
		f.spec, f.reason = wti(email), "DeleteOnly"
	}
	return f
}
