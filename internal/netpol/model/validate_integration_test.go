package model_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kordon-dev/kordon/internal/k8s"
	"github.com/kordon-dev/kordon/internal/netpol/model"
	"github.com/kordon-dev/kordon/internal/testenv"
)

var networkPolicies = schema.GroupVersionResource{Group: "networking.k8s.io", Version: "v1", Resource: "networkpolicies"}

// serverAnswer creates the object with a server-side dry run and kubectl's
// default field validation (Strict), and returns the API server's answer
// as validationCase records it.
func serverAnswer(ctx context.Context, t *testing.T, env *testenv.Env, o *k8s.Object) []string {
	t.Helper()
	u := &unstructured.Unstructured{Object: runtime.DeepCopyJSON(o.Content)}
	_, err := env.Dynamic.Resource(networkPolicies).Namespace(o.Namespace()).Create(ctx, u,
		metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}, FieldValidation: "Strict"})
	var status apierrors.APIStatus
	switch {
	case err == nil:
		return nil
	case apierrors.IsBadRequest(err):
		return []string{errDecode}
	case !errors.As(err, &status) || !apierrors.IsInvalid(err) || status.Status().Details == nil:
		t.Fatalf("unexpected answer of the API server: %v", err)
	}
	var out []string
	for _, c := range status.Status().Details.Causes {
		out = append(out, string(c.Type)+" "+c.Field)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// TestValidationAgainstAPIServer is the differential test of the model's
// validation: every policy of validationCases is created in a real API
// server (server-side dry run), and the model must reject exactly what the
// server rejects, naming the same fields — and both must give the answer
// the table records.
func TestValidationAgainstAPIServer(t *testing.T) {
	env := cluster.Env(t)
	ctx := context.Background()
	ns := env.CreateNamespace(t, "validate")
	for _, tc := range validationCases {
		t.Run(tc.name, func(t *testing.T) {
			mine, problems, obj := modelAnswer(t, tc.object(ns))
			theirs := serverAnswer(ctx, t, env, obj)
			if !slices.Equal(mine, theirs) {
				t.Errorf("the model answers %q, the API server %q", mine, theirs)
			}
			if want := slices.Sorted(slices.Values(tc.want)); !slices.Equal(theirs, want) {
				t.Errorf("the API server answers %q; the table says %q", theirs, want)
			}
			if (len(problems) > 0) != (len(theirs) > 0) {
				t.Errorf("FromObjects problems = %v; the API server answers %q", problems, theirs)
			}
		})
	}
}

// TestStoredPoliciesKeepLegacyCIDRs starts an API server without strict
// CIDR validation (as clusters before 1.36 ran), stores a policy with a
// CIDR that has host bits set, and checks that the model keeps it when read
// from the cluster — the API server keeps accepting it in updates — and
// reads the CIDR as the network it denotes, while the same manifest as a
// new object is rejected.
func TestStoredPoliciesKeepLegacyCIDRs(t *testing.T) {
	env := testenv.StartWithOptions(t, testenv.Options{APIServerArgs: map[string][]string{
		"feature-gates": {"StrictIPCIDRValidation=false"},
	}})
	ctx := context.Background()
	ns := env.CreateNamespace(t, "legacy")
	manifest := strings.ReplaceAll(`apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: legacy, namespace: NS}
spec:
  podSelector: {}
  ingress:
  - from: [{ipBlock: {cidr: 10.0.0.1/8, except: [10.1.0.1/16]}}, {ipBlock: {cidr: "::ffff:192.168.0.0/112"}}]
`, "NS", ns)
	objs, errs := k8s.Decode([]byte(manifest), "legacy.yaml")
	if len(errs) > 0 {
		t.Fatal(errs[0])
	}
	if _, problems := model.FromObjects(objs); len(problems) != 1 {
		t.Errorf("problems of the manifest = %v, want one (a new object with these CIDRs is rejected)", problems)
	}
	if _, err := env.Create(ctx, objs...); err != nil {
		t.Fatalf("the API server without strict CIDR validation rejects the policy: %v", err)
	}
	loaded, err := k8s.LoadCluster(ctx, k8s.ClusterOptions{RESTConfig: env.Config})
	if err != nil {
		t.Fatal(err)
	}
	var mine []*k8s.Object
	for _, o := range loaded.Objects {
		if o.Namespace() == ns {
			mine = append(mine, o)
		}
	}
	c, problems := model.FromObjects(mine)
	if len(problems) > 0 || len(c.Policies) != 1 {
		t.Fatalf("policies = %d, problems = %v; want the stored policy kept", len(c.Policies), problems)
	}
	peers := c.Policies[0].Ingress[0].Peers
	if got := peers[0].IPBlock.CIDR.String() + " except " + peers[0].IPBlock.Except[0].String() + ", " + peers[1].IPBlock.CIDR.String(); got != "10.0.0.0/8 except 10.1.0.0/16, 192.168.0.0/16" {
		t.Errorf("ipBlocks = %s, want 10.0.0.0/8 except 10.1.0.0/16, 192.168.0.0/16", got)
	}
}
