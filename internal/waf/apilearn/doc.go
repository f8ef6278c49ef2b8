// Package apilearn drafts an OpenAPI 3.1 description of an API from
// recorded traffic, the start of a positive security model: the routes the
// clients use (with identifiers in paths turned into parameters), their
// query and header parameters, the JSON bodies they send and the statuses
// they get. The draft is meant to be reviewed and then enforced with
// package apischema.
//
// A Learner keeps statistics, not requests: its memory is bounded by the
// number of distinct routes and fields (with limits on both), whatever the
// volume of traffic. It is not safe for concurrent use.
package apilearn
