// Command kubectl-collab is a kubectl plugin for collaborator-operator.
// `kubectl collab import` prints Collaborator manifests for the members a
// provider lists that no Collaborator declares, ready to adopt.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
	"github.com/collab-dev/collaborator-operator/internal/adopt"
	"github.com/collab-dev/collaborator-operator/internal/provider"
	"github.com/collab-dev/collaborator-operator/internal/provider/builtin"
)

const usage = `Usage:
  kubectl collab import -n NAMESPACE --provider-config NAME (--project ID | --application SLUG)

Prints Collaborator manifests (YAML, one document each) for every member of
the QuantConnect project or AppHarbor application that no Collaborator in
NAMESPACE declares, the owner excluded. Each carries collab.dev/external-id,
so applying them adopts the existing access and never creates it again.
AppHarbor lists no email: fill in those manifests' email before applying.

It reads the ProviderConfig and its Secret with your kubeconfig's user, so
you need get on both (and list on collaborators.collab.dev) in NAMESPACE.
`

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "kubectl collab:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "import" {
		_, _ = io.WriteString(stderr, usage)
		return errors.New(`the only command is "import"`)
	}
	fs := flag.NewFlagSet("kubectl collab import", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { _, _ = io.WriteString(stderr, usage+"\nFlags:\n"); fs.PrintDefaults() }
	var req adopt.Request
	var kubeconfig, kubeContext, allowed string
	var timeout time.Duration
	fs.StringVar(&req.Namespace, "n", "", "namespace of the ProviderConfig and Collaborators (default: the context's)")
	fs.StringVar(&req.Namespace, "namespace", "", "same as -n")
	fs.StringVar(&req.ProviderConfig, "provider-config", "", "name of the ProviderConfig (required)")
	fs.Int64Var(&req.ProjectID, "project", 0, "QuantConnect project id")
	fs.StringVar(&req.Application, "application", "", "AppHarbor application slug")
	fs.StringVar(&kubeconfig, "kubeconfig", "", "path to the kubeconfig (default: $KUBECONFIG or ~/.kube/config)")
	fs.StringVar(&kubeContext, "context", "", "kubeconfig context to use")
	fs.StringVar(&allowed, "allowed-provider-urls", provider.DefaultAllowedURLs,
		"base URLs the ProviderConfig's credentials may be sent to, as the manager's flag of the same name")
	fs.DurationVar(&timeout, "timeout", 30*time.Second, "timeout of each provider request")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if req.ProviderConfig == "" {
		return errors.New("--provider-config is required")
	}
	list, err := provider.ParseURLAllowList(allowed)
	if err != nil {
		return fmt.Errorf("--allowed-provider-urls: %w", err)
	}
	req.AllowedURLs = list

	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = kubeconfig
	overrides := &clientcmd.ConfigOverrides{CurrentContext: kubeContext}
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, overrides)
	if req.Namespace == "" {
		if req.Namespace, _, err = cc.Namespace(); err != nil {
			return fmt.Errorf("reading the kubeconfig's namespace: %w", err)
		}
	}
	cfg, err := cc.ClientConfig()
	if err != nil {
		return fmt.Errorf("loading the kubeconfig: %w", err)
	}
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return fmt.Errorf("building the scheme: %w", err)
	}
	if err := collabv1alpha1.AddToScheme(scheme); err != nil {
		return fmt.Errorf("building the scheme: %w", err)
	}
	cl, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return fmt.Errorf("connecting to the cluster: %w", err)
	}
	reg := builtin.NewRegistry(builtin.Options{Timeout: timeout})
	n, err := adopt.Import(ctx, cl, reg, req, stdout)
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintf(stderr, "%d Collaborator manifest(s) for members no Collaborator declares\n", n); err != nil {
		return fmt.Errorf("writing the summary: %w", err)
	}
	return nil
}
