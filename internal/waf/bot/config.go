package bot

import (
	"fmt"
	"os"
	"time"

	"sigs.k8s.io/yaml"
)

// fileConfig is Config as written in a YAML file.
type fileConfig struct {
	RateLimits      []RateLimit           `json:"rateLimits,omitempty"`
	Agents          map[AgentClass]Action `json:"agents,omitempty"`
	Anomalies       Action                `json:"anomalies,omitempty"`
	ChallengeRoutes []string              `json:"challengeRoutes,omitempty"`
	Difficulty      int                   `json:"difficulty,omitempty"`
	ChallengeTTL    string                `json:"challengeTTL,omitempty"`
	// KeyFile holds the challenge key (32 bytes or more), shared by all
	// replicas.
	KeyFile    string `json:"keyFile,omitempty"`
	MaxClients int    `json:"maxClients,omitempty"`
}

// LoadConfig reads a bot configuration file (YAML; docs/waf-bots.md).
// Unknown fields are errors; the configuration is checked by New.
func LoadConfig(file string) (Config, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return Config{}, err
	}
	var fc fileConfig
	if err := yaml.UnmarshalStrict(data, &fc); err != nil {
		return Config{}, fmt.Errorf("%s: %w", file, err)
	}
	cfg := Config{RateLimits: fc.RateLimits, Agents: fc.Agents, Anomalies: fc.Anomalies,
		ChallengeRoutes: fc.ChallengeRoutes, Difficulty: fc.Difficulty, MaxClients: fc.MaxClients}
	if fc.ChallengeTTL != "" {
		if cfg.ChallengeTTL, err = time.ParseDuration(fc.ChallengeTTL); err != nil || cfg.ChallengeTTL <= 0 {
			return Config{}, fmt.Errorf("%s: challengeTTL %q: want a positive duration such as 1h", file, fc.ChallengeTTL)
		}
	}
	if fc.KeyFile != "" {
		if cfg.Key, err = os.ReadFile(fc.KeyFile); err != nil {
			return Config{}, fmt.Errorf("%s: keyFile: %w", file, err)
		}
	}
	return cfg, nil
}
