package training

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/openmed/openmed/core/checkpoint"
	"github.com/openmed/openmed/core/corpus"
	"github.com/openmed/openmed/core/metrics"
	"github.com/openmed/openmed/core/tokenize"
)

// WriteJSON writes v as indented JSON atomically.
func WriteJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return checkpoint.WriteFileAtomic(path, append(b, '\n'))
}

// SplitScores are the headline numbers of one evaluation in metrics.json.
type SplitScores struct {
	Micro       metrics.Scores `json:"micro"`
	Macro       metrics.Scores `json:"macro"`
	StrictMicro metrics.Scores `json:"strict_micro"`
	StrictMacro metrics.Scores `json:"strict_macro"`
	Loss        float64        `json:"loss"`
}

func scoresOf(r *EvalResult) *SplitScores {
	if r == nil {
		return nil
	}
	return &SplitScores{Micro: r.Default.Micro, Macro: r.Default.Macro, StrictMicro: r.Strict.Micro, StrictMacro: r.Strict.Macro, Loss: r.Loss}
}

// MetricsFile is the summary a finished training run writes into its folder.
const MetricsFile = "metrics.json"

// RunMetrics is MetricsFile: the best epoch's dev and test scores (seqeval
// default micro/macro, strict IOB2 micro/macro) and the run's cost.
type RunMetrics struct {
	Dev              *SplitScores `json:"dev,omitempty"`
	Test             *SplitScores `json:"test,omitempty"`
	Epochs           int          `json:"epochs"`
	Steps            int          `json:"steps"`
	BestEpoch        int          `json:"best_epoch"`
	EarlyStopped     bool         `json:"early_stopped"`
	WallSeconds      float64      `json:"wall_time_s"`
	TrainTokens      int64        `json:"train_tokens"`
	TokensPerSec     float64      `json:"train_tokens_per_s"`
	TotalParams      int          `json:"total_params"`
	TrainableParams  int          `json:"trainable_params"`
	TrainablePercent float64      `json:"trainable_percent"`
	Method           Method       `json:"method"`
}

// writeOutputs writes the run's folder: for LoRA a PEFT adapter
// (adapter_config.json with task_type TOKEN_CLS, adapter_model.safetensors
// with PEFT's keys, the classifier as modules_to_save); for full fine-tuning
// an HF checkpoint (model.safetensors). Both get config.json (the base config
// with architectures XxxForTokenClassification, num_labels, id2label,
// label2id), labels.json, the tokenizer files, training_args.json and
// metrics.json (dev_predictions.tsv / test_predictions.tsv are written
// beside them).
func writeOutputs(cfg Config, tokDir string, res *Result) error {
	out := cfg.Out
	m := res.Model
	if res.Adapter != nil {
		if err := res.Adapter.Save(out, cfg.Base); err != nil {
			return err
		}
	} else if err := checkpoint.WriteSafetensors(filepath.Join(out, checkpoint.SafeWeightsFile), m.StateDict(), map[string]string{"format": "pt"}); err != nil {
		return err
	}
	if err := m.Config.Save(filepath.Join(out, checkpoint.ConfigFile)); err != nil {
		return err
	}
	if err := writeLabels(out, res.Labels); err != nil {
		return err
	}
	if _, err := tokenize.CopyFiles(tokDir, out); err != nil {
		return err
	}
	if err := WriteJSON(filepath.Join(out, "training_args.json"), cfg); err != nil {
		return err
	}
	fm := RunMetrics{Dev: scoresOf(res.Dev), Test: scoresOf(res.Test), Epochs: res.Loop.Epochs, Steps: res.Loop.Steps,
		BestEpoch: res.Loop.BestEpoch + 1, EarlyStopped: res.Loop.EarlyStopped, WallSeconds: res.Loop.Wall.Seconds(),
		TrainTokens: res.Loop.Tokens, TokensPerSec: res.Loop.TokensPerSec, TotalParams: res.TotalParams,
		TrainableParams: res.TrainableParams, TrainablePercent: res.TrainablePercent, Method: cfg.Method}
	return WriteJSON(filepath.Join(out, MetricsFile), fm)
}

// writePredictions writes the best weights' predicted tags as a CoNLL file
// with the gold file's tokens (for `openmed eval --pred … --against …`).
func writePredictions(out, name string, d *Dataset, r *EvalResult) error {
	if d == nil || r == nil {
		return nil
	}
	return corpus.WriteFile(filepath.Join(out, name), PredictionsCorpus(d, r.Pred))
}

// ReadRunMetrics reads the MetricsFile of a finished run folder.
func ReadRunMetrics(dir string) (*RunMetrics, error) {
	data, err := os.ReadFile(filepath.Join(dir, MetricsFile))
	if err != nil {
		return nil, err
	}
	var m RunMetrics
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, MetricsFile), err)
	}
	return &m, nil
}
