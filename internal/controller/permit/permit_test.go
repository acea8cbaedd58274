package permit

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
)

func qc(ns, project, member, access string) Request {
	return Request{Namespace: ns, Provider: collabv1alpha1.ProviderQuantConnect, Target: project, Member: member, Access: access}
}

func TestCheck(t *testing.T) {
	trading := collabv1alpha1.ClusterGrant{
		Namespaces: []string{"trading"}, Targets: []string{"23456789"},
		Members: []string{"mia-ai", "*-bot"}, MaxAccess: collabv1alpha1.AccessWrite,
	}
	labelled := collabv1alpha1.ClusterGrant{
		NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"team": "quant"}},
		Targets:           []string{"1*"},
	}
	tests := map[string]struct {
		grants  []collabv1alpha1.ClusterGrant
		req     Request
		matched int
		denied  string
	}{
		"granted": {
			grants: []collabv1alpha1.ClusterGrant{trading}, req: qc("trading", "23456789", "mia-ai", collabv1alpha1.AccessWrite), matched: 1,
		},
		"less access than the most is granted": {
			grants: []collabv1alpha1.ClusterGrant{trading}, req: qc("trading", "23456789", "ci-bot", collabv1alpha1.AccessRead), matched: 1,
		},
		"another namespace": {
			grants: []collabv1alpha1.ClusterGrant{trading}, req: qc("research", "23456789", "mia-ai", collabv1alpha1.AccessRead),
			denied: `ClusterProviderConfig "org" grants namespace "research" nothing`,
		},
		"another project": {
			grants: []collabv1alpha1.ClusterGrant{trading}, req: qc("trading", "999", "mia-ai", collabv1alpha1.AccessRead),
			denied: `ClusterProviderConfig "org" grants namespace "trading" no access to project 999`,
		},
		"another member": {
			grants: []collabv1alpha1.ClusterGrant{trading}, req: qc("trading", "23456789", "noah", collabv1alpha1.AccessRead),
			denied: `ClusterProviderConfig "org" grants namespace "trading" access to project 23456789, but not for member "noah"`,
		},
		"user ids compare exactly": {
			grants: []collabv1alpha1.ClusterGrant{trading}, req: qc("trading", "23456789", "Mia-AI", collabv1alpha1.AccessRead),
			denied: `ClusterProviderConfig "org" grants namespace "trading" access to project 23456789, but not for member "Mia-AI"`,
		},
		"more access": {
			grants: []collabv1alpha1.ClusterGrant{trading}, req: qc("trading", "23456789", "mia-ai", collabv1alpha1.AccessWriteLive),
			denied: `ClusterProviderConfig "org" grants namespace "trading" at most write on project 23456789 for member "mia-ai"; this asks for write+live`,
		},
		"the closest of several grants, with the most access among them": {
			grants: []collabv1alpha1.ClusterGrant{
				{Namespaces: []string{"trading"}, Targets: []string{"1"}},
				{Namespaces: []string{"trading"}, MaxAccess: collabv1alpha1.AccessRead},
				{Namespaces: []string{"trading"}, Members: []string{"mia-ai"}, MaxAccess: collabv1alpha1.AccessWrite},
			},
			req:    qc("trading", "23456789", "mia-ai", collabv1alpha1.AccessWriteLive),
			denied: `ClusterProviderConfig "org" grants namespace "trading" at most write on project 23456789 for member "mia-ai"; this asks for write+live`,
		},
		"one of several grants permits": {
			grants:  []collabv1alpha1.ClusterGrant{trading, {Namespaces: []string{"trading"}}},
			req:     qc("trading", "999", "noah", collabv1alpha1.AccessWriteLive),
			matched: 1,
		},
		"selected by labels": {
			grants: []collabv1alpha1.ClusterGrant{labelled},
			req: Request{Namespace: "q", Labels: map[string]string{"team": "quant"}, Provider: collabv1alpha1.ProviderQuantConnect,
				Target: "123", Member: "x", Access: collabv1alpha1.AccessWriteLive},
			matched: 1,
		},
		"labels that do not match": {
			grants: []collabv1alpha1.ClusterGrant{labelled},
			req: Request{Namespace: "q", Labels: map[string]string{"team": "ops"}, Provider: collabv1alpha1.ProviderQuantConnect,
				Target: "123", Member: "x", Access: collabv1alpha1.AccessRead},
			denied: `ClusterProviderConfig "org" grants namespace "q" nothing`,
		},
		"an empty selector selects every namespace": {
			grants: []collabv1alpha1.ClusterGrant{{NamespaceSelector: &metav1.LabelSelector{}}},
			req:    qc("anything", "1", "x", collabv1alpha1.AccessWriteLive), matched: 1,
		},
		"AppHarbor emails fold case": {
			grants: []collabv1alpha1.ClusterGrant{{Namespaces: []string{"web"}, Targets: []string{"my-*"}, Members: []string{"*@Example.com"},
				MaxAccess: collabv1alpha1.AccessCollaborator}},
			req: Request{Namespace: "web", Provider: collabv1alpha1.ProviderAppHarbor, Target: "my-app", Member: "Bob@EXAMPLE.com",
				Access: collabv1alpha1.AccessCollaborator},
			matched: 1,
		},
		"AppHarbor administrator beyond collaborator": {
			grants: []collabv1alpha1.ClusterGrant{{Namespaces: []string{"web"}, MaxAccess: collabv1alpha1.AccessCollaborator}},
			req: Request{Namespace: "web", Provider: collabv1alpha1.ProviderAppHarbor, Target: "my-app", Member: "bob@example.com",
				Access: collabv1alpha1.AccessAdministrator},
			denied: `ClusterProviderConfig "org" grants namespace "web" at most collaborator on application "my-app" for member "bob@example.com"; this asks for administrator`,
		},
		"WebTranslateIt has no target and no levels": {
			grants: []collabv1alpha1.ClusterGrant{{Namespaces: []string{"docs"}, Members: []string{"*@example.com"}}},
			req:    Request{Namespace: "docs", Provider: collabv1alpha1.ProviderWebTranslateIt, Member: "carol@example.com"}, matched: 1,
		},
		"an AccessPolicy asks for its target only": {
			grants: []collabv1alpha1.ClusterGrant{trading},
			req:    Request{Namespace: "trading", Provider: collabv1alpha1.ProviderQuantConnect, Target: "23456789"}, matched: 1,
		},
		"an AccessPolicy on another target": {
			grants: []collabv1alpha1.ClusterGrant{trading},
			req:    Request{Namespace: "trading", Provider: collabv1alpha1.ProviderQuantConnect, Target: "1"},
			denied: `ClusterProviderConfig "org" grants namespace "trading" no access to project 1`,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			matched, denied := Check("org", tc.grants, tc.req)
			if diff := cmp.Diff(tc.denied, denied); diff != "" {
				t.Errorf("message (-want +got):\n%s", diff)
			}
			if len(matched) != tc.matched {
				t.Errorf("matched %d grants, want %d", len(matched), tc.matched)
			}
		})
	}
}

func TestGlob(t *testing.T) {
	tests := map[string]struct {
		pattern, s string
		want       bool
	}{
		"exact":                      {"mia-ai", "mia-ai", true},
		"exact differs":              {"mia-ai", "mia", false},
		"star alone":                 {"*", "", true},
		"prefix":                     {"*@example.com", "bob@example.com", true},
		"prefix differs":             {"*@example.com", "bob@example.org", false},
		"inner":                      {"a*b*c", "axxbyyc", true},
		"no overlap of parts":        {"ab*bc", "abc", false},
		"star matches an empty run":  {"a*b", "ab", true},
		"other characters are plain": {"a.b", "axb", false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := Glob(tc.pattern, tc.s); got != tc.want {
				t.Errorf("Glob(%q, %q) = %v, want %v", tc.pattern, tc.s, got, tc.want)
			}
		})
	}
}

func TestMembersCover(t *testing.T) {
	tests := map[string]struct {
		grants   []collabv1alpha1.ClusterGrant
		provider string
		member   string
		want     bool
	}{
		"omitted members cover all":          {[]collabv1alpha1.ClusterGrant{{}}, collabv1alpha1.ProviderQuantConnect, "x", true},
		"a listed user id":                   {[]collabv1alpha1.ClusterGrant{{Members: []string{"x"}}}, collabv1alpha1.ProviderQuantConnect, "x", true},
		"an unlisted user id":                {[]collabv1alpha1.ClusterGrant{{Members: []string{"x"}}}, collabv1alpha1.ProviderQuantConnect, "y", false},
		"an unknown email under a lone star": {[]collabv1alpha1.ClusterGrant{{Members: []string{"*"}}}, collabv1alpha1.ProviderAppHarbor, "", true},
		"an unknown email under a domain":    {[]collabv1alpha1.ClusterGrant{{Members: []string{"*@a.com"}}}, collabv1alpha1.ProviderAppHarbor, "", false},
		"any of several grants covers":       {[]collabv1alpha1.ClusterGrant{{Members: []string{"x"}}, {Members: []string{"y*"}}}, collabv1alpha1.ProviderQuantConnect, "yo", true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := MembersCover(tc.grants, tc.provider, tc.member); got != tc.want {
				t.Errorf("MembersCover = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestForCollaborator(t *testing.T) {
	c := &collabv1alpha1.Collaborator{ObjectMeta: metav1.ObjectMeta{Namespace: "trading"}, Spec: collabv1alpha1.CollaboratorSpec{
		QuantConnect: &collabv1alpha1.QuantConnectCollaborator{ProjectID: 42, UserID: "mia-ai", LiveControl: true},
	}}
	want := qc("trading", "42", "mia-ai", collabv1alpha1.AccessWriteLive)
	if diff := cmp.Diff(want, ForCollaborator(c)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
