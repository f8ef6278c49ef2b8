// Package config defines the admission webhook's configuration file: which
// rule packs and rules apply, where (namespaces, namespace selectors, kinds,
// exempt subjects) and with which action (enforce, warn, audit), and the
// settings of the governance policies. Load reads and validates a file;
// every problem is reported with the field it concerns.
package config
