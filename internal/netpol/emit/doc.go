// Package emit makes the NetworkPolicies Kordon writes (netpol compile and
// netpol generate) acceptable to the API server and to kubectl before they
// are written:
//
//   - names: a name that is not a valid object name (a DNS-1123 subdomain of
//     at most 253 characters), such as one made from a long or odd group or
//     workload name, is replaced by a valid name derived from it, with a
//     short hash of the original so that different names stay different;
//   - size: a policy whose JSON is larger than Options.MaxBytes is split
//     into several policies with the same podSelector and policyTypes, each
//     holding some of the rules (a rule with many peers or ports is split
//     too). NetworkPolicies add up, so the parts allow exactly what the
//     policy allowed;
//   - validation: every object is decoded and validated as the API server
//     does (model.DecodePolicy, model.ValidatePolicy); an object that still
//     fails is left out and reported.
//
// Every rename and split is reported, one line each.
package emit
