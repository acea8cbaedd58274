package access

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
)

var now = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

func at(d time.Duration) *metav1.Time { t := metav1.NewTime(now.Add(d)); return &t }

func TestParseFailOn(t *testing.T) {
	tests := map[string]struct {
		in      string
		want    FailOn
		wantErr string
	}{
		"all three":        {in: "unmanaged,conflict,expiring=720h", want: FailOn{true, true, 720 * time.Hour}},
		"days and spaces":  {in: " expiring=30d , unmanaged", want: FailOn{Unmanaged: true, Expiring: 720 * time.Hour}},
		"days and hours":   {in: "expiring=1d12h", want: FailOn{Expiring: 36 * time.Hour}},
		"empty":            {in: "", wantErr: "empty"},
		"unknown item":     {in: "unmanaged,stale", wantErr: `"stale": unknown item`},
		"no duration":      {in: "expiring", wantErr: "needs a duration"},
		"bad duration":     {in: "expiring=soon", wantErr: "invalid duration"},
		"negative":         {in: "expiring=-1h", wantErr: "positive"},
		"fractional days":  {in: "expiring=1.5d", wantErr: "whole number"},
		"value on a flag":  {in: "conflict=yes", wantErr: "unknown item"},
		"zero is no limit": {in: "expiring=0d", wantErr: "positive"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := ParseFailOn(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want one mentioning %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestFailOnMatch(t *testing.T) {
	all := FailOn{Unmanaged: true, Conflict: true, Expiring: 72 * time.Hour}
	tests := map[string]struct {
		row  Row
		want string
	}{
		"unmanaged":            {row: Row{State: StateUnmanaged}, want: "unmanaged"},
		"declared elsewhere":   {row: Row{State: StateUnmanaged, DeclaredElsewhere: true}},
		"conflict":             {row: Row{State: collabv1alpha1.ReasonConflict}, want: "conflict"},
		"expiring within":      {row: Row{State: "Available", ExpiresAt: at(48 * time.Hour)}, want: "in 2d"},
		"expired":              {row: Row{State: "Expired", ExpiresAt: at(-time.Hour)}, want: "expired 1h ago"},
		"expiring after":       {row: Row{State: "Available", ExpiresAt: at(96 * time.Hour)}},
		"no expiry":            {row: Row{State: "Available"}},
		"conflict and expires": {row: Row{State: "Conflict", ExpiresAt: at(time.Hour)}, want: "conflict, in 1h"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := all.Match(&tc.row, now); got != tc.want {
				t.Errorf("Match = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestExpires(t *testing.T) {
	tests := map[string]struct {
		at   *metav1.Time
		want string
	}{
		"none":         {at: nil, want: "-"},
		"days":         {at: at(5*24*time.Hour + 3*time.Hour), want: "in 5d"},
		"hours":        {at: at(3*time.Hour + 59*time.Minute), want: "in 3h"},
		"past days":    {at: at(-49 * time.Hour), want: "expired 2d ago"},
		"exactly now":  {at: at(0), want: "expired 0s ago"},
		"over a year":  {at: at(400 * 24 * time.Hour), want: "in 1y"},
		"just minutes": {at: at(90 * time.Second), want: "in 1m"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := Expires(tc.at, now); got != tc.want {
				t.Errorf("Expires = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestRowsAndMembers(t *testing.T) {
	qc := &collabv1alpha1.Collaborator{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "lee"},
		Spec: collabv1alpha1.CollaboratorSpec{QuantConnect: &collabv1alpha1.QuantConnectCollaborator{
			ProjectID: 42, UserID: "lee-q", Write: true, LiveControl: true}},
		Status: collabv1alpha1.CollaboratorStatus{
			QuantConnect: &collabv1alpha1.QuantConnectObservation{Email: "Lee@Example.com"},
			Conditions:   []metav1.Condition{{Type: "Synced", Reason: "ReconcileSuccess"}, {Type: "Ready", Reason: "Available"}},
		},
	}
	ah := &collabv1alpha1.Collaborator{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "lee-ah"},
		Spec: collabv1alpha1.CollaboratorSpec{AppHarbor: &collabv1alpha1.AppHarborCollaborator{
			Application: "app", Email: "lee@example.com"}},
	}
	pol := &collabv1alpha1.AccessPolicy{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "p"},
		Spec:       collabv1alpha1.AccessPolicySpec{QuantConnect: &collabv1alpha1.QuantConnectPolicyTarget{ProjectID: 42}},
		Status: collabv1alpha1.AccessPolicyStatus{Unmanaged: []collabv1alpha1.UnmanagedMember{
			{Member: "lee-q", Access: "read", DeclaredElsewhere: true}}},
	}
	rows := append([]Row{CollaboratorRow(qc), CollaboratorRow(ah)}, PolicyRows(pol)...)
	want := []Row{
		{Namespace: "ns", Name: "lee", Source: SourceCollaborator, Provider: "QuantConnect", Target: "42",
			Member: "lee-q", Email: "Lee@Example.com", Access: "write+live", State: "Available"},
		{Namespace: "ns", Name: "lee-ah", Source: SourceCollaborator, Provider: "AppHarbor", Target: "app",
			Member: "lee@example.com", Email: "lee@example.com", Access: "collaborator"},
		{Namespace: "ns", Name: "p", Source: SourceAccessPolicy, Provider: "QuantConnect", Target: "42",
			Member: "lee-q", Access: "read", State: StateUnmanaged, DeclaredElsewhere: true},
	}
	if diff := cmp.Diff(want, rows); diff != "" {
		t.Fatalf("rows (-want +got):\n%s", diff)
	}
	matches := map[string][]bool{ // per query: does each row of want match
		"lee-q":           {true, false, true},
		"LEE@example.COM": {true, true, false},
		"Lee-Q":           {false, false, false}, // user ids are exact
		"nobody":          {false, false, false},
	}
	for q, wantMatch := range matches {
		for i := range rows {
			if got := rows[i].MatchesMember(q); got != wantMatch[i] {
				t.Errorf("row %d (%s) matches %q: %v, want %v", i, rows[i].Name, q, got, wantMatch[i])
			}
		}
	}
}
