package reports

import (
	reportsv1alpha1 "github.com/openreports/reports-api/apis/openreports.io/v1alpha1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kordon-dev/kordon/internal/testenv"
)

func newClient(env *testenv.Env, o client.Options) (client.Client, error) {
	s := runtime.NewScheme()
	if err := reportsv1alpha1.Install(s); err != nil {
		return nil, err
	}
	o.Scheme = s
	return client.New(env.Config, o)
}
