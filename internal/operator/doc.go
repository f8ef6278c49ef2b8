// Package operator runs Kordon inside a cluster (kordon operator): a
// controller-runtime manager that scans the live cluster's posture on
// change (metadata-only watches, debounced) and on a schedule, sends the
// findings to the event store and keeps them as OpenReports (package
// reports); detects drift of live objects from a Git or folder baseline
// (package drift); rescans running images when the vulnerability
// database changes (package imagescan); and publishes label-selected groups of pod IPs for
// perimeter firewalls (package ipfeed). Its Prometheus metrics are
// registered on the Registerer it is given.
package operator
