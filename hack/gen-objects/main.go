// Command gen-objects writes generated Kubernetes objects as YAML, one file
// per 1,000 objects, for benchmarking whole runs of kordon scan:
//
//	go run ./hack/gen-objects -n 10000 -o /tmp/kordon-10k
//	/usr/bin/time -v kordon scan /tmp/kordon-10k -o json --fail-on none > /dev/null
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/kordon-dev/kordon/internal/testgen"
)

func main() {
	n := flag.Int("n", 10000, "number of objects")
	out := flag.String("o", "kordon-generated", "output folder")
	seed := flag.Uint64("seed", 1, "random seed")
	flag.Parse()
	if err := os.MkdirAll(*out, 0o755); err != nil {
		log.Fatal(err)
	}
	objs := testgen.Objects(*n, *seed)
	for i := 0; i < len(objs); i += 1000 {
		end := min(i+1000, len(objs))
		file := filepath.Join(*out, fmt.Sprintf("objects-%03d.yaml", i/1000))
		if err := os.WriteFile(file, testgen.YAML(objs[i:end]), 0o644); err != nil {
			log.Fatal(err)
		}
	}
	fmt.Printf("wrote %d objects to %s\n", len(objs), *out)
}
