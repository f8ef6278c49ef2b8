package rxfilter_test

import (
	"fmt"
	"regexp"

	"github.com/kordon-dev/kordon/internal/waf/rxfilter"
)

// A screen: one Matcher over the literals of many rules; a rule's regexp
// runs only on values where one of its literals occurs.
func Example() {
	patterns := []string{
		`(?sm)(?i)union\s+select`,
		`(?sm)(?i)<script\b`,
	}
	var lits []string
	var owner []int
	for i, p := range patterns {
		l, ok, err := rxfilter.Required(p)
		if err != nil || !ok {
			panic("this rule must always run")
		}
		for _, lit := range l {
			lits = append(lits, lit)
			owner = append(owner, i)
		}
	}
	m, err := rxfilter.NewMatcher(lits)
	if err != nil {
		panic(err)
	}
	for _, v := range []string{"price_asc", "1 UNION  SELECT 2"} {
		hits := make([]uint64, (m.Len()+63)/64)
		m.Find(v, hits)
		for id := range lits {
			if hits[id/64]&(1<<(id%64)) != 0 {
				p := patterns[owner[id]]
				fmt.Printf("%q: literal %q, run %s: %v\n", v, lits[id], p, regexp.MustCompile(p).MatchString(v))
			}
		}
	}
	// Output:
	// "1 UNION  SELECT 2": literal "select", run (?sm)(?i)union\s+select: true
}
