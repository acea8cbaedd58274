package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/collab-dev/collaborator-operator/internal/adopt"
	"github.com/collab-dev/collaborator-operator/internal/provider"
	"github.com/collab-dev/collaborator-operator/internal/provider/builtin"
)

const importLong = `Prints Collaborator manifests (YAML, one document each) for every member of
the QuantConnect project or AppHarbor application that no Collaborator in
NAMESPACE declares, the owner excluded. Each carries collab.dev/external-id,
so applying them adopts the existing access and never creates it again.
AppHarbor lists no email: fill in those manifests' email before applying.

It reads the ProviderConfig and its Secret with your kubeconfig's user, so
you need get on both (and list on collaborators.collab.dev) in NAMESPACE.`

func newImportCommand(p *plugin) *cobra.Command {
	var req adopt.Request
	var allowed string
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "import -n NAMESPACE --provider-config NAME (--project ID | --application SLUG)",
		Short: "Print Collaborator manifests for the members no Collaborator declares",
		Long:  importLong,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if req.ProviderConfig == "" {
				return errors.New("--provider-config is required")
			}
			list, err := provider.ParseURLAllowList(allowed)
			if err != nil {
				return fmt.Errorf("--allowed-provider-urls: %w", err)
			}
			req.AllowedURLs = list
			if req.Namespace, err = p.namespace(); err != nil {
				return err
			}
			cl, err := p.client()
			if err != nil {
				return err
			}
			reg := builtin.NewRegistry(builtin.Options{Timeout: timeout})
			n, err := adopt.Import(cmd.Context(), cl, reg, req, p.stdout)
			if err != nil {
				return fmt.Errorf("import: %w", err)
			}
			_, err = fmt.Fprintf(p.stderr, "%d Collaborator manifest(s) for members no Collaborator declares\n", n)
			if err != nil {
				return fmt.Errorf("writing the summary: %w", err)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&req.ProviderConfig, "provider-config", "", "name of the ProviderConfig (required)")
	f.Int64Var(&req.ProjectID, "project", 0, "QuantConnect project id")
	f.StringVar(&req.Application, "application", "", "AppHarbor application slug")
	f.StringVar(&allowed, "allowed-provider-urls", provider.DefaultAllowedURLs,
		"base URLs the ProviderConfig's credentials may be sent to, as the manager's flag of the same name")
	f.DurationVar(&timeout, "timeout", 30*time.Second, "timeout of each provider request")
	return cmd
}
