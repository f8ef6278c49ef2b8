package match_test

// The tests read the Go vulnerability database's OSV records from the
// golang.org/x/vulndb module (data/osv); this import keeps the module in
// go.mod so that `go list -m` finds it in the module cache.
import _ "golang.org/x/vulndb/report"
