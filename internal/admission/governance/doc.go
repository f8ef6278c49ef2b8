// Package governance holds Kordon's governance policies for admission: the
// checks security teams ask for that are not properties of one object
// alone — who may set which labels, who may work in which namespace, pods
// without a NetworkPolicy, trusted images, signed images (verified in the
// registry by package image/signature) and creation-rate anomalies. One
// file per policy. A policy sees a Request and returns Violations; where and
// with which action it applies is decided by the webhook from the
// configuration.
package governance
