// Package packs embeds Kordon's built-in rule packs: one YAML file per rule
// family, each document one rule, with every rule's pass and fail fixtures
// under fixtures/<RULE-ID>/.
package packs

import "embed"

// FS holds the rule files (*.yaml) and the fixtures folder.
//
//go:embed *.yaml fixtures
var FS embed.FS
