package main

import (
	"fmt"

	"github.com/spf13/pflag"
)

// configFlag is the --config flag of train and dapt: a JSON configuration
// (an earlier run's training_args.json, or a file with the library
// Config's JSON names — the names the C ABI and Python use).
const configFlag = "config"

// overlayConfig lets load replace the values the flags are bound to by the
// configuration of a --config file, then applies again every flag given on
// the command line, so flags win over the file and the file wins over the
// defaults.
func overlayConfig(fl *pflag.FlagSet, load func()) error {
	type given struct {
		f     *pflag.Flag
		value string
		slice []string
	}
	var set []given
	fl.Visit(func(f *pflag.Flag) {
		if f.Name == configFlag {
			return
		}
		g := given{f: f, value: f.Value.String()}
		if sv, ok := f.Value.(pflag.SliceValue); ok {
			g.slice = sv.GetSlice()
		}
		set = append(set, g)
	})
	load()
	for _, g := range set {
		var err error
		if sv, ok := g.f.Value.(pflag.SliceValue); ok {
			err = sv.Replace(g.slice)
		} else {
			err = g.f.Value.Set(g.value)
		}
		if err != nil {
			return fmt.Errorf("--%s over --config: %w", g.f.Name, err)
		}
	}
	return nil
}
