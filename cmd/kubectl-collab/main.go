// Command kubectl-collab is a kubectl plugin for collaborator-operator:
//
//   - `kubectl collab access` lists who has access to what, from the
//     Collaborators and the AccessPolicies' unmanaged members the caller may
//     read, for access reviews, offboarding and CI gates (--fail-on);
//   - `kubectl collab renew` moves a Collaborator's spec.expiresAt, or prints
//     the change to commit to Git;
//   - `kubectl collab import` prints Collaborator manifests for the members a
//     provider lists that no Collaborator declares, ready to adopt.
//
// It is built on cobra and k8s.io/cli-runtime, as krew plugins are, so the
// kubeconfig flags (--kubeconfig, --context, -n, --as, ...) behave as
// kubectl's.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/go-logr/logr"
	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "kubectl collab:", err)
		os.Exit(1)
	}
}

// run runs the command line args as kubectl runs the plugin.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return runWith(ctx, time.Now, args, stdout, stderr)
}

// runWith is run with the clock injected, so that tests can pin "in 5d".
func runWith(ctx context.Context, now func() time.Time, args []string, stdout, stderr io.Writer) error {
	root := newRootCommand(&plugin{now: now, stdout: stdout, stderr: stderr})
	if args == nil {
		args = []string{} // cobra reads os.Args when given nil
	}
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	return root.ExecuteContext(ctx)
}

// plugin is what every subcommand shares: the kubeconfig flags, the clock
// and the output streams.
type plugin struct {
	flags          *genericclioptions.ConfigFlags
	now            func() time.Time
	stdout, stderr io.Writer
}

func newRootCommand(p *plugin) *cobra.Command {
	root := &cobra.Command{
		Use:   "kubectl-collab",
		Short: "Review, renew and import collaborator-operator access",
		Long: `kubectl collab works with collaborator-operator's Collaborators and AccessPolicies,
using your kubeconfig's user and its RBAC only.

  access   who has access to what (table, json, yaml, csv; --fail-on for CI)
  renew    move a Collaborator's spec.expiresAt, or print the change for Git
  import   print Collaborator manifests for members no Collaborator declares`,
		Annotations: map[string]string{cobra.CommandDisplayNameAnnotation: "kubectl collab"},
		// main prints the error once; usage on every error would bury it.
		SilenceErrors: true,
		SilenceUsage:  true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cmd.SetOut(p.stderr) // the usage is not output a script should read
			_ = cmd.Usage()
			return errors.New("a command is required: access, renew or import")
		},
	}
	p.flags = genericclioptions.NewConfigFlags(true)
	p.flags.AddFlags(root.PersistentFlags())
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return fmt.Errorf("%w\nSee '%s --help' for usage", err, cmd.DisplayName())
	})
	root.AddCommand(newAccessCommand(p), newRenewCommand(p), newImportCommand(p))
	return root
}

// namespace is -n, or the kubeconfig context's namespace.
func (p *plugin) namespace() (string, error) {
	ns, _, err := p.flags.ToRawKubeConfigLoader().Namespace()
	if err != nil {
		return "", fmt.Errorf("reading the kubeconfig's namespace: %w", err)
	}
	return ns, nil
}

// client connects with the kubeconfig's user, so that every read and write
// is subject to the caller's RBAC and nothing else.
func (p *plugin) client() (client.Client, error) {
	cfg, err := p.flags.ToRESTConfig()
	if err != nil {
		return nil, fmt.Errorf("loading the kubeconfig: %w", err)
	}
	// client-go's default of 5 requests a second would throttle the pages
	// of a large listing; the API server's priority and fairness still
	// protects it from a CLI.
	if cfg.QPS == 0 && cfg.RateLimiter == nil {
		cfg.QPS, cfg.Burst = 50, 100
	}
	// The API server's warnings (a deprecated version, say) go to stderr as
	// kubectl prints them, rather than to controller-runtime's logger, which
	// a CLI does not set up (and which complains after 30s if left unset).
	cfg.WarningHandler = rest.NewWarningWriter(p.stderr, rest.WarningWriterOptions{Deduplicate: true})
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return nil, fmt.Errorf("building the scheme: %w", err)
	}
	if err := collabv1alpha1.AddToScheme(scheme); err != nil {
		return nil, fmt.Errorf("building the scheme: %w", err)
	}
	cl, err := client.New(cfg, client.Options{Scheme: scheme, Log: logr.New(ctrllog.NullLogSink{})})
	if err != nil {
		return nil, fmt.Errorf("connecting to the cluster: %w", err)
	}
	return cl, nil
}

// warn prints a kubectl-style warning on stderr.
func (p *plugin) warn(format string, args ...any) {
	_, _ = fmt.Fprintf(p.stderr, "Warning: "+format+"\n", args...)
}
