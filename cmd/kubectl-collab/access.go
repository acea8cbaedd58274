package main

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/collab-dev/collaborator-operator/internal/plugin/access"
)

const accessLong = `Lists who has access to what: one row per person and target, from the
Collaborators (STATE is their Ready reason) and from the AccessPolicies'
status (members at the provider no Collaborator declares, STATE unmanaged).

It reads only Collaborators and AccessPolicies, with your kubeconfig's user:
a List your RBAC forbids is reported on stderr and its rows are missing. It
never reads Secrets nor asks a provider, so it shows what the operator last
observed.

--member matches QuantConnect user ids exactly, and emails (anything with an
@) case-insensitively: the spec's email for AppHarbor and WebTranslateIt, the
email QuantConnect reported for a QuantConnect Collaborator.

--fail-on makes the command exit 1 when a listed row matches (the rows are
still printed, the matches named on stderr), and also when a List was
forbidden, since a review that could not read everything cannot pass:
  unmanaged           rows with STATE unmanaged, except those declaredElsewhere
                      (which the AccessPolicy counts as Compliant too)
  conflict            Collaborators whose Ready reason is Conflict
  expiring=DURATION   rows expiring within DURATION (720h, 30d), or expired`

const accessExample = `  # Everything a person has, in every namespace you may read
  kubectl collab access -A --member lee@example.com

  # The review of one namespace, for a spreadsheet
  kubectl collab access -n trading -o csv > review.csv

  # A CI gate: no unmanaged member, no conflict, nothing expiring within 30 days
  kubectl collab access -A --fail-on unmanaged,conflict,expiring=30d`

func newAccessCommand(p *plugin) *cobra.Command {
	var req access.Request
	var output, failOn string
	cmd := &cobra.Command{
		Use:     "access [-n NAMESPACE | -A] [--member ID_OR_EMAIL] [-o table|json|yaml|csv] [--fail-on LIST]",
		Short:   "List who has access to what, for access reviews and offboarding",
		Long:    accessLong,
		Example: accessExample,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var gate *access.FailOn
			if cmd.Flags().Changed("fail-on") {
				f, err := access.ParseFailOn(failOn)
				if err != nil {
					return err
				}
				gate = &f
			}
			if !slices.Contains(access.Formats, output) {
				return fmt.Errorf("-o %q: use one of %s", output, strings.Join(access.Formats, ", "))
			}
			if req.AllNamespaces && *p.flags.Namespace != "" {
				return errors.New("give either -n NAMESPACE or -A, not both")
			}
			if !req.AllNamespaces {
				var err error
				if req.Namespace, err = p.namespace(); err != nil {
					return err
				}
			}
			cl, err := p.client()
			if err != nil {
				return err
			}
			res, err := access.Review(cmd.Context(), cl, req)
			if err != nil {
				return fmt.Errorf("access review: %w", err)
			}
			for _, r := range res.Refused {
				p.warn("%s", r)
			}
			if len(res.Refused) == 2 {
				return errors.New("nothing could be read: your RBAC forbids listing both Collaborators and AccessPolicies there")
			}
			now := p.now()
			if err := access.Print(p.stdout, output, res.Rows, now); err != nil {
				return err
			}
			if gate == nil {
				return nil
			}
			return checkGate(p, gate, failOn, res, now)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&req.AllNamespaces, "all-namespaces", "A", false,
		"list every namespace (one paginated List per kind); not with -n")
	f.StringVar(&req.Member, "member", "", "only the rows of this person: a user id, or an email")
	f.StringVarP(&output, "output", "o", access.FormatTable, "output format: "+strings.Join(access.Formats, ", "))
	f.StringVar(&failOn, "fail-on", "",
		"exit 1 when a row matches: a comma-separated list of unmanaged, conflict, expiring=DURATION")
	f.Int64Var(&req.PageSize, "chunk-size", access.DefaultPageSize, "objects per List request")
	return cmd
}

// checkGate applies --fail-on after the rows were printed: the matches go
// to stderr, so that a CI log shows why the job failed next to the review.
func checkGate(p *plugin, gate *access.FailOn, flag string, res *access.Result, now time.Time) error {
	matches := gate.Matches(res.Rows, now)
	for _, m := range matches {
		_, _ = fmt.Fprintln(p.stderr, "fail-on:", m)
	}
	switch {
	case len(matches) > 0:
		return fmt.Errorf("%d row(s) match --fail-on %s", len(matches), flag)
	case len(res.Refused) > 0:
		return fmt.Errorf("--fail-on %s: the review is incomplete (%d List(s) forbidden), so it cannot pass",
			flag, len(res.Refused))
	}
	return nil
}
