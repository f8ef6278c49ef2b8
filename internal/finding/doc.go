// Package finding defines the Finding, the one result shape every Kordon
// engine produces and every report format renders, together with severities,
// exceptions and per-framework compliance scores.
package finding
