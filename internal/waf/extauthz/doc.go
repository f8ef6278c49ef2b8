// Package extauthz serves the WAF engine as an Envoy external
// authorization server (envoy.service.auth.v3.Authorization over gRPC):
// Envoy, or Istio's sidecars with an AuthorizationPolicy of action CUSTOM,
// asks Check about every request, and the engine's request phases answer
// OK or a 403 with the request ID. Envoy does not send responses to an
// external authorizer, so CRS's response rules do not run here.
package extauthz
