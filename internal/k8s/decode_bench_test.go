package k8s_test

import (
	"fmt"
	"testing"

	"github.com/kordon-dev/kordon/internal/k8s"
	"github.com/kordon-dev/kordon/internal/testgen"
)

// BenchmarkDecode decodes one YAML stream of generated objects, as a scan
// of a large repository or a cluster dump does.
func BenchmarkDecode(b *testing.B) {
	for _, n := range []int{100, 10000} {
		data := testgen.YAML(testgen.Objects(n, 1))
		b.Run(fmt.Sprintf("objects=%d", n), func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				objs, errs := k8s.Decode(data, "bench.yaml")
				if len(errs) > 0 || len(objs) != n {
					b.Fatalf("decoded %d objects, %d errors", len(objs), len(errs))
				}
			}
		})
	}
}
