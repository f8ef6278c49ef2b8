package posture

import (
	"fmt"
	"slices"
	"strings"

	"github.com/kordon-dev/kordon/internal/finding"
	"github.com/kordon-dev/kordon/internal/k8s"
	"github.com/kordon-dev/kordon/internal/rules"
)

// notJudged finds the objects no check of the scan applies to, so that
// nothing is skipped in silence. An object of a built-in API group whose
// kind the group does not have (a misspelling) gets a warning of its own,
// with a suggestion; objects of custom kinds, and of built-in kinds the
// selected checks leave out, get one warning per kind with their count and
// where the first one is.
func notJudged(checks Checks, objs []*k8s.Object) (int, []finding.Problem) {
	judged := map[[2]string]bool{}
	judges := func(gk [2]string) bool {
		if v, ok := judged[gk]; ok {
			return v
		}
		v := checks.Rules != nil && checks.Rules.Judges(gk[0], gk[1])
		for _, c := range checks.Native {
			if kj, ok := c.(rules.KindJudge); ok && kj.Judges(gk[0], gk[1]) {
				v = true
			}
		}
		judged[gk] = v
		return v
	}
	type group struct {
		first *k8s.Object
		n     int
	}
	byKind := map[[2]string]*group{}
	var order [][2]string
	var out []finding.Problem
	n := 0
	for _, o := range objs {
		gk := [2]string{o.Group(), o.Kind()}
		if judges(gk) {
			continue
		}
		n++
		if k8s.IsBuiltinGroup(gk[0]) && !k8s.IsBuiltinKind(gk[0], gk[1]) {
			msg := fmt.Sprintf("not judged: %s has no kind %s", apiGroupName(gk[0]), gk[1])
			if s := k8s.SuggestKind(gk[0], gk[1]); s != "" {
				msg += fmt.Sprintf(" (did you mean %s?)", s)
			}
			out = append(out, problemAt(o, msg))
			continue
		}
		g := byKind[gk]
		if g == nil {
			g = &group{first: o}
			byKind[gk] = g
			order = append(order, gk)
		}
		g.n++
	}
	slices.SortFunc(order, func(a, b [2]string) int { return strings.Compare(a[0]+"/"+a[1], b[0]+"/"+b[1]) })
	for _, gk := range order {
		g := byKind[gk]
		what := "kind " + gk[1]
		if !k8s.IsBuiltinGroup(gk[0]) {
			what = "custom kind " + gk[1] + " (" + gk[0] + ")"
		}
		msg := fmt.Sprintf("not judged: %d object(s) of %s; no selected check applies to that kind", g.n, what)
		if g.n > 1 {
			msg += " (the first is here)"
		}
		out = append(out, problemAt(g.first, msg))
	}
	return n, out
}

func apiGroupName(group string) string {
	if group == "" {
		return "the core API group (v1)"
	}
	return "API group " + group
}

func problemAt(o *k8s.Object, msg string) finding.Problem {
	ref := o.Ref()
	res := finding.Resource{APIVersion: ref.APIVersion, Kind: ref.Kind, Namespace: ref.Namespace, Name: ref.Name}
	return finding.Problem{File: o.Source.File, Line: o.Source.Line, Resource: &res, Message: msg}
}
