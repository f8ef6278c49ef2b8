package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kordon-dev/kordon/internal/config"
	"github.com/kordon-dev/kordon/internal/rules"
)

// configFlags choose the configuration file (.kordon.yaml) every command
// reads its flag defaults, exceptions and rule parameters from: --config,
// else the one Find discovers from the current directory, unless
// --no-config.
type configFlags struct {
	file string
	none bool
}

// annotationNoConfig marks commands that read no configuration file
// (kordon version, kordon config init).
const annotationNoConfig = "kordon/no-config"

func (f *configFlags) register(root *cobra.Command) {
	pf := root.PersistentFlags()
	pf.StringVar(&f.file, "config", "", "configuration file (default: .kordon.yaml or .kordon.yml in the current folder or the nearest parent, up to the git root; see docs/configuration.md)")
	pf.BoolVar(&f.none, "no-config", false, "read no configuration file")
	_ = root.MarkPersistentFlagFilename("config", "yaml", "yml")
}

// loadedConfig is the configuration a command runs with: the file (nil
// when none) and the flag values taken from it.
type loadedConfig struct {
	cfg *config.Config
	// how says how the file was chosen: "--config", "found in DIR", or why
	// none was read.
	how     string
	applied []config.Flag
}

type configKey struct{}

// configFrom returns the configuration the command runs with; never nil.
func configFrom(ctx context.Context) *loadedConfig {
	if lc, ok := ctx.Value(configKey{}).(*loadedConfig); ok && lc != nil {
		return lc
	}
	return &loadedConfig{how: "none"}
}

// apply finds and reads the configuration, checks it against every
// command, sets the flags of cmd the command line left unset, and stores
// it in cmd's context. A configuration that cannot be read or is invalid
// is a usage error naming file and line.
func (f *configFlags) apply(cmd *cobra.Command) error {
	lc := &loadedConfig{}
	defer func() { cmd.SetContext(context.WithValue(ctxOf(cmd), configKey{}, lc)) }()
	if cmd.Annotations[annotationNoConfig] != "" || strings.HasPrefix(cmd.Name(), cobra.ShellCompRequestCmd) ||
		(cmd.HasParent() && cmd.Parent().Name() == "completion") {
		lc.how = "none (kordon " + config.Name(cmd) + " reads no configuration)"
		return nil
	}
	// kordon admission serve has a --config of its own (the webhook's
	// configuration), which hides this one there: it finds .kordon.yaml
	// or takes --no-config.
	file, none := f.file, f.none
	switch {
	case none && f.file != "":
		return usageErr(errors.New("give --config or --no-config, not both"))
	case none:
		lc.how = "none (--no-config)"
		return nil
	case file != "":
		lc.how = "--config"
	default:
		wd, err := os.Getwd()
		if err != nil {
			return usageErr(fmt.Errorf("find config: %w", err))
		}
		if file, err = config.Find(wd); err != nil {
			return usageErr(err)
		}
		if file == "" {
			lc.how = "none (no " + strings.Join(config.Names(), " or ") + " in " + wd + " or its parents up to the git root)"
			return nil
		}
		lc.how = "found from " + wd
	}
	cfg, err := config.Load(file)
	if err != nil {
		return usageErr(err)
	}
	if err := cfg.Validate(config.TreeOf(cmd.Root())); err != nil {
		return usageErr(err)
	}
	lc.cfg = cfg
	if lc.applied, err = cfg.Apply(config.Name(cmd), cmd.Flags()); err != nil {
		return usageErr(err)
	}
	return nil
}

func ctxOf(cmd *cobra.Command) context.Context {
	if ctx := cmd.Context(); ctx != nil {
		return ctx
	}
	return context.Background()
}

// source names the configuration file for messages and report headers;
// "" when none was read.
func (lc *loadedConfig) source() string {
	if lc.cfg == nil {
		return ""
	}
	return lc.cfg.File
}

// explain adds to a command's error, when it names a flag whose value came
// from the configuration file, where that value is written: the error
// itself cannot know.
func (lc *loadedConfig) explain(err error) error {
	if err == nil || len(lc.applied) == 0 {
		return err
	}
	var ee *exitError
	inner := err
	if errors.As(err, &ee) {
		if ee.err == nil {
			return err
		}
		inner = ee.err
	}
	msg := inner.Error()
	for _, f := range lc.applied {
		if strings.Contains(msg, "--"+f.Name+" ") || strings.Contains(msg, "--"+f.Name+":") || strings.HasSuffix(msg, "--"+f.Name) {
			inner = fmt.Errorf("%w (--%s is set in %s)", inner, f.Name, f.Where())
			break
		}
	}
	if ee != nil {
		return &exitError{code: ee.code, err: inner}
	}
	return inner
}

// paramSettings returns the rule parameter settings of the configuration
// file and then of --param flags (which win).
func (lc *loadedConfig) paramSettings(flags []string) ([]rules.ParamSetting, error) {
	var out []rules.ParamSetting
	if lc.cfg != nil {
		out = append(out, lc.cfg.Params...)
	}
	for _, p := range flags {
		s, err := rules.ParseParamFlag(p)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}
