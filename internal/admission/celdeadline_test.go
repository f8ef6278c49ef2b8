package admission

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/kordon-dev/kordon/internal/admission/config"
	"github.com/kordon-dev/kordon/internal/finding"
	"github.com/kordon-dev/kordon/internal/rules"
)

// quadratic is a CEL expression that takes hours on a ConfigMap with a few
// thousand keys: every key against every key against every key.
const quadratic = "object.data.all(a, object.data.all(b, object.data.all(c, a + b + c != 'x')))"

// TestCELObservesTheRequestDeadline is a direct attack: a ConfigMap of
// 3,000 keys sent to a webhook whose custom rule spends a cubic number of
// steps on it in a variable, or in a messageExpression. The review must be
// answered per failureAction at the deadline, and the evaluation must stop
// there too: the webhook has one evaluation slot, and the next review
// (retried while shed, for up to 100 budgets of 300ms: far less than the
// pathological expression needs) gets a real decision. A CEL program that
// ignored the context would hold the slot and every next review would be
// shed.
func TestCELObservesTheRequestDeadline(t *testing.T) {
	cases := map[string]*rules.Rule{
		"variable": {
			Variables:   []rules.Variable{{Name: "slow", Expression: quadratic}},
			Validations: []rules.Validation{{Expression: "variables.slow", Message: "slow"}},
		},
		"messageExpression": {
			Validations: []rules.Validation{{Expression: "false", Message: "static",
				MessageExpression: "(" + quadratic + ") ? 'all' : 'some'"}},
		},
	}
	for name, r := range cases {
		t.Run(name, func(t *testing.T) {
			r.ID, r.Title, r.Severity, r.Remediation, r.Tags = "CUSTOM-SLOW-1", "slow rule", finding.High, "none", []string{"slow"}
			r.Description = "a rule whose expression is cubic in the number of keys"
			r.Match.Resources = []rules.ResourceMatch{{APIGroups: []string{""}, Kinds: []string{"ConfigMap"}}}
			f := newFixture(t)
			cat, err := rules.Merge(f.catalog, []*rules.Rule{r})
			if err != nil {
				t.Fatal(err)
			}
			f.catalog = cat
			cfg, err := config.Parse([]byte("timeout: 300ms\nfailureAction: deny\nrules:\n- name: slow\n  select: {ids: [CUSTOM-SLOW-1]}\n  action: enforce\n"))
			if err != nil {
				t.Fatal(err)
			}
			w, _, err := New(Options{Config: cfg, Catalogue: f.catalog, Limits: Limits{MaxConcurrent: 1, Wait: time.Second}})
			if err != nil {
				t.Fatal(err)
			}
			var data strings.Builder
			for i := 0; i < 3000; i++ {
				fmt.Fprintf(&data, `"k%d":"v",`, i)
			}
			big := reviewJSON(`"uid":"big","kind":{"group":"","version":"v1","kind":"ConfigMap"},"namespace":"shop","name":"c","operation":"CREATE",` +
				`"userInfo":{"username":"mallory"},"object":{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c","namespace":"shop"},"data":{` +
				strings.TrimSuffix(data.String(), ",") + `}}`)
			code, resp := post(t, w, ValidatePath, big)
			if code != http.StatusOK || resp.UID != "big" || resp.Allowed || !strings.Contains(resp.Result.Message, "300ms") {
				t.Fatalf("pathological review: HTTP %d %+v, want denied: no decision within 300ms", code, resp)
			}
			small := reviewJSON(`"uid":"small","kind":{"group":"","version":"v1","kind":"ConfigMap"},"namespace":"shop","name":"d","operation":"CREATE",` +
				`"userInfo":{"username":"alice"},"object":{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"d","namespace":"shop"},"data":{"a":"b"}}}`)
			for try := 0; try < 100; try++ {
				if code, resp = post(t, w, ValidatePath, small); code != http.StatusTooManyRequests {
					break
				}
			}
			if code != http.StatusOK || resp.UID != "small" {
				t.Fatalf("review after the pathological one: HTTP %d, want a decision (the slot is still held by the stopped evaluation)", code)
			}
			want := name == "variable" // the variable is true: allowed; the messageExpression's rule always fails
			if resp.Allowed != want {
				t.Errorf("review after the pathological one: allowed %v (%+v), want %v", resp.Allowed, resp.Result, want)
			}
		})
	}
}
