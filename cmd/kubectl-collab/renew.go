package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/collab-dev/collaborator-operator/internal/plugin/access"
	"github.com/collab-dev/collaborator-operator/internal/plugin/renew"
)

const renewLong = `Moves the Collaborator's spec.expiresAt to --for from now, or to --until,
with a JSON merge patch, in -n's namespace (default: the kubeconfig
context's). A Collaborator being deleted is refused: its access is going.

If your Collaborators live in Git (Flux, Argo CD), a patch is undone at the
next sync: --dry-run changes nothing and prints the patch and the manifest
line to commit instead.`

const renewExample = `  # Thirty more days from now
  kubectl collab renew lee-q -n trading --for 30d

  # Until a date, printing the change to commit to Git instead
  kubectl collab renew lee-q -n trading --until 2027-01-02T00:00:00Z --dry-run`

func newRenewCommand(p *plugin) *cobra.Command {
	var forFlag, untilFlag string
	var dryRun bool
	cmd := &cobra.Command{
		Use:     "renew NAME (--for DURATION | --until RFC3339) [--dry-run]",
		Short:   "Move a Collaborator's spec.expiresAt",
		Long:    renewLong,
		Example: renewExample,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			until, err := renewUntil(forFlag, untilFlag, p.now())
			if err != nil {
				return err
			}
			ns, err := p.namespace()
			if err != nil {
				return err
			}
			cl, err := p.client()
			if err != nil {
				return err
			}
			req := renew.Request{Namespace: ns, Name: args[0], Until: until, DryRun: dryRun}
			res, err := renew.Renew(cmd.Context(), cl, req)
			if err != nil {
				return fmt.Errorf("renew: %w", err)
			}
			for _, w := range res.Warnings {
				p.warn("collaborator %s/%s: %s", ns, req.Name, w)
			}
			if dryRun {
				return renew.PrintDryRun(p.stdout, ns, req.Name, res)
			}
			_, err = fmt.Fprintf(p.stdout, "collaborator.collab.dev/%s renewed until %s\n",
				req.Name, res.Until.Format(time.RFC3339))
			if err != nil {
				return fmt.Errorf("writing the result: %w", err)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&forFlag, "for", "", "how long from now: a Go duration (720h) or days (30d)")
	f.StringVar(&untilFlag, "until", "", "the new expiry, RFC 3339 (2027-01-02T00:00:00Z)")
	f.BoolVar(&dryRun, "dry-run", false, "change nothing; print the patch and the manifest line for Git")
	return cmd
}

// renewUntil is the new expiry that --for or --until asks for, which must
// be in the future: a renewal into the past would remove the access.
func renewUntil(forFlag, untilFlag string, now time.Time) (time.Time, error) {
	var until time.Time
	switch {
	case (forFlag == "") == (untilFlag == ""):
		return until, errors.New("give exactly one of --for DURATION and --until RFC3339")
	case forFlag != "":
		d, err := access.ParseDuration(forFlag)
		if err != nil {
			return until, fmt.Errorf("--for: %w", err)
		}
		until = now.Add(d)
	default:
		t, err := time.Parse(time.RFC3339, untilFlag)
		if err != nil {
			return until, fmt.Errorf("--until: %w", err)
		}
		until = t
	}
	if !until.After(now) {
		return until, fmt.Errorf("the new expiry %s is not in the future", until.UTC().Format(time.RFC3339))
	}
	return until.UTC().Truncate(time.Second), nil
}
