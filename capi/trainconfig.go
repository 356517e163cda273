package main

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"

	"github.com/openmed/openmed/training"
	"github.com/openmed/openmed/training/loop"
)

// parseTrainConfig reads openmed_train's config_json with
// training.ParseConfig (over training.DefaultConfig, the paper's recipe;
// training.Config's JSON names, HF TrainingArguments / PEFT LoraConfig
// ones; unknown fields are errors) and checks the required fields.
func parseTrainConfig(cfgJSON string) (training.Config, error) {
	cfg, err := training.ParseConfig([]byte(cfgJSON))
	if err != nil {
		return cfg, badInput("config_json: %v", err)
	}
	if err := cfg.CheckRequired(); err != nil {
		return cfg, badInput("config_json: %v", err)
	}
	return cfg, nil
}

// progressEvent is the JSON given to the progress callback.
type progressEvent struct {
	Phase      string `json:"phase"`
	Epoch      int    `json:"epoch"`
	Epochs     int    `json:"epochs"`
	Step       int    `json:"step"`
	TotalSteps int    `json:"total_steps"`
	// Loss and LR are the training step's (absent from other phases).
	Loss         *float64 `json:"loss,omitempty"`
	LR           *float64 `json:"learning_rate,omitempty"`
	StepsPerSec  float64  `json:"steps_per_sec"`
	TokensPerSec float64  `json:"tokens_per_sec"`
	ETASeconds   float64  `json:"eta_seconds"`
	Score        *float64 `json:"score"`
	Best         *float64 `json:"best"`
	Checkpoint   string   `json:"checkpoint,omitempty"`
}

// finite returns nil for NaN/±Inf (not representable in JSON).
func finite(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}

func toEvent(p loop.Progress) progressEvent {
	ev := progressEvent{Phase: p.Phase.String(), Epoch: p.Epoch, Epochs: p.Epochs, Step: p.Step,
		TotalSteps: p.TotalSteps, StepsPerSec: p.StepsPerSec,
		TokensPerSec: p.TokensPerSec, ETASeconds: p.ETA.Seconds(), Checkpoint: p.Checkpoint}
	if p.Phase == loop.PhaseTrain {
		ev.Loss, ev.LR = finite(p.Loss), finite(p.LR)
	}
	if p.HasScore {
		ev.Score = finite(p.Score)
		ev.Best = finite(p.Best)
	}
	return ev
}

// warningEvent is given to the progress callback for trainer warnings.
type warningEvent struct {
	Phase   string `json:"phase"`
	Message string `json:"message"`
}

// trainResult is openmed_train's result.
type trainResult struct {
	OutputDir        string               `json:"output_dir"`
	Method           string               `json:"method"`
	Labels           []string             `json:"labels"`
	BestDevF1        *float64             `json:"best_dev_f1"`
	BestEpoch        int                  `json:"best_epoch"`
	Epochs           int                  `json:"epochs"`
	Steps            int                  `json:"steps"`
	EarlyStopped     bool                 `json:"early_stopped"`
	WallSeconds      float64              `json:"wall_seconds"`
	TokensPerSec     float64              `json:"tokens_per_sec"`
	TotalParams      int                  `json:"total_params"`
	TrainableParams  int                  `json:"trainable_params"`
	TrainablePercent float64              `json:"trainable_percent"`
	Dev              *training.EvalResult `json:"dev"`
	Test             *training.EvalResult `json:"test"`
	Files            []string             `json:"files"`
}

func toTrainResult(cfg training.Config, res *training.Result) (*trainResult, error) {
	out := &trainResult{OutputDir: res.Out, Method: cfg.Method.String(), Dev: res.Dev, Test: res.Test,
		TotalParams: res.TotalParams, TrainableParams: res.TrainableParams, TrainablePercent: res.TrainablePercent}
	if res.Labels != nil {
		out.Labels = res.Labels.Names
	}
	if l := res.Loop; l != nil {
		out.BestEpoch = l.BestEpoch + 1
		out.Epochs, out.Steps, out.EarlyStopped = l.Epochs, l.Steps, l.EarlyStopped
		out.WallSeconds, out.TokensPerSec = l.Wall.Seconds(), l.TokensPerSec
	}
	if res.Dev != nil && res.Dev.Default != nil {
		out.BestDevF1 = finite(res.Dev.Default.Micro.F1)
	}
	files, err := listFiles(res.Out)
	if err != nil {
		return nil, err
	}
	out.Files = files
	return out, nil
}

// listFiles returns the paths of the regular files directly in dir, sorted.
func listFiles(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("listing outputs: %w", err)
	}
	files := []string{}
	for _, e := range ents {
		if e.Type().IsRegular() {
			files = append(files, filepath.Join(dir, e.Name()))
		}
	}
	sort.Strings(files)
	return files, nil
}
