// Package rules holds Kordon's rule format, the CEL environment rules are
// written in, the rule catalogue (built-in packs plus user rules), and the
// evaluation of compiled rules against loaded objects.
//
// A rule's CEL means what it would mean in a ValidatingAdmissionPolicy: the
// environment is the Kubernetes CEL environment of k8s.io/apiserver, the
// object is seen as the API server sees it (`object`), rule variables are
// VAP variables (`variables.<name>`, evaluated lazily), and validation
// expressions must be true for a compliant object. Rules that need other
// objects of the scan read them from `inventory` (see Inventory); such rules
// cannot be exported as admission policies.
package rules
