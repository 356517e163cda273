package lora

import (
	"encoding/json"
	"os"
	"testing"

	"github.com/openmed/openmed/core/model"
	"github.com/openmed/openmed/internal/testutil"
	"github.com/stretchr/testify/require"
)

// sharedDir returns ../shared relative to the repository root (the directory
// holding go.mod), skipping the test when it is absent.
func sharedDir(t testing.TB) string {
	return testutil.SharedDir(t)
}

// jArray is the fixtures' JSON array encoding.
type jArray = testutil.Array

type loraFile struct {
	Inputs struct {
		InputIDs      jArray  `json:"input_ids"`
		AttentionMask jArray  `json:"attention_mask"`
		TokenTypeIDs  *jArray `json:"token_type_ids"`
		Labels        jArray  `json:"labels"`
	} `json:"inputs"`
	TrainableKeys   []string          `json:"trainable_parameter_keys"`
	InitialParams   map[string]jArray `json:"initial_params"`
	Grads           map[string]jArray `json:"grads"`
	UpdatedParams   map[string]jArray `json:"updated_params"`
	Logits          jArray            `json:"logits"`
	Loss            float64           `json:"loss"`
	LogitsAfterStep jArray            `json:"logits_after_step"`
	LossAfterStep   float64           `json:"loss_after_step"`
	MergedLayer0    struct {
		Initial      map[string]jArray `json:"initial"`
		AfterStep    map[string]jArray `json:"after_step"`
		ModulePrefix string            `json:"module_prefix"`
	} `json:"merged_layer0"`
	Optimizer struct {
		LR          float64   `json:"lr"`
		Betas       []float64 `json:"betas"`
		Eps         float64   `json:"eps"`
		WeightDecay float64   `json:"weight_decay"`
	} `json:"optimizer"`
}

func (f *loraFile) batch() *model.Batch {
	in := f.Inputs
	b := &model.Batch{Batch: in.InputIDs.Shape[0], SeqLen: in.InputIDs.Shape[1], InputIDs: in.InputIDs.I32(), AttentionMask: in.AttentionMask.F32()}
	if in.TokenTypeIDs != nil {
		b.TokenTypeIDs = in.TokenTypeIDs.I32()
	}
	return b
}

func readLoraFile(t testing.TB, path string) *loraFile {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	var f loraFile
	require.NoError(t, json.Unmarshal(data, &f), path)
	return &f
}

func maxAbsDiff(t testing.TB, want []float64, got []float32) float64 {
	return testutil.MaxAbsDiff(t, want, got)
}
