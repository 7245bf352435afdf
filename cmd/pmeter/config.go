package main

import (
	"flag"

	"github.com/pmeter/pmeter/audit"
)

// configFlags are the flags of the commands that take a run's config file: 'pmeter run' and 'pmeter plan'.
type configFlags struct {
	dataset, out *string
	workers      *int
}

// newConfigFlags registers the flags on fs; outHelp describes --out.
func newConfigFlags(fs *flag.FlagSet, datasetHelp, outHelp string) configFlags {
	return configFlags{
		dataset: fs.String("dataset", "", datasetHelp),
		out:     fs.String("out", "", outHelp),
		workers: fs.Int("workers", -1, "override run.workers (models trained at once; 0 = one per CPU)"),
	}
}

// load reads the config named by the positional arguments (none: the embedded default) and applies the
// flags.
func (f configFlags) load(args []string) (*audit.Config, error) {
	var cfg *audit.Config
	var err error
	switch len(args) {
	case 0:
		cfg, err = audit.DefaultConfig()
	case 1:
		cfg, err = audit.LoadConfig(args[0])
	default:
		return nil, usagef("want at most one config file, got %d arguments", len(args))
	}
	if err != nil {
		return nil, err
	}
	if *f.dataset != "" {
		cfg.Data.Dataset = *f.dataset
	}
	if *f.out != "" {
		cfg.Run.LogDir = *f.out
	}
	if *f.workers >= 0 {
		cfg.Run.Workers = *f.workers
	}
	return cfg, nil
}
