package main

import (
	"github.com/openmed/openmed/training/dapt"
	"github.com/openmed/openmed/training/loop"
)

// parseDAPTConfig reads openmed_dapt's config_json over dapt.DefaultConfig
// (JSON names of dapt.Config: "text" files, "output_dir", "base", …).
func parseDAPTConfig(cfgJSON string) (dapt.Config, error) {
	cfg, err := dapt.ParseConfig([]byte(cfgJSON))
	if err != nil {
		return cfg, badInput("config_json: %v", err)
	}
	if err := cfg.CheckRequired(); err != nil {
		return cfg, badInput("config_json: %v", err)
	}
	return cfg, nil
}

// daptResult is openmed_dapt's result.
type daptResult struct {
	OutputDir     string       `json:"output_dir"`
	Before        dapt.HeldOut `json:"before"`
	After         dapt.HeldOut `json:"after"`
	TrainBlocks   int          `json:"train_blocks"`
	HeldOutBlocks int          `json:"held_out_blocks"`
	Epochs        int          `json:"epochs"`
	Steps         int          `json:"steps"`
	WallSeconds   float64      `json:"wall_seconds"`
	Files         []string     `json:"files"`
}

// runDAPT runs dapt.Run under the job's context (as runTrain).
func runDAPT(j *job, config string, sink progressSink) (any, error) {
	cfg, err := parseDAPTConfig(config)
	if err != nil {
		return nil, err
	}
	cfg.Progress = func(p loop.Progress) {
		if sink.emit(toEvent(p)) {
			j.cancel()
		}
	}
	res, err := dapt.Run(j.ctx, cfg)
	if err != nil {
		return nil, err
	}
	out := daptResult{OutputDir: res.Out, Before: res.Before, After: res.After,
		TrainBlocks: res.TrainBlocks, HeldOutBlocks: res.HeldOutBlocks}
	if l := res.Loop; l != nil {
		out.Epochs, out.Steps, out.WallSeconds = l.Epochs, l.Steps, l.Wall.Seconds()
	}
	if out.Files, err = listFiles(res.Out); err != nil {
		return nil, err
	}
	return out, nil
}
