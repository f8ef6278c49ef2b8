// Package loadtest drives the admission webhook's HTTPS server with
// realistic AdmissionReviews — Deployments, Pods as a ReplicaSet controller
// creates them, pod updates, Services, ConfigMaps and namespace label
// changes, from many users — at fixed request rates (open loop: latency is
// measured from each request's scheduled time, so a slow server cannot
// hide its queue) and at fixed concurrencies (closed loop), and reports
// throughput and latency percentiles. hack/admission-load is its command.
package loadtest
