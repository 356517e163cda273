package main

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type fwdOutput struct {
	Logits fwdArray `json:"logits"`
	Loss   *float64 `json:"loss"`
}

func fwdMaxDiff(t *testing.T, want, got []float64) float64 {
	t.Helper()
	require.Equal(t, len(want), len(got))
	var m float64
	for i := range want {
		m = math.Max(m, math.Abs(want[i]-got[i]))
	}
	return m
}

func TestForwardCommandRegistered(t *testing.T) {
	c, _, err := rootCmd.Find([]string{"forward"})
	require.NoError(t, err)
	assert.Equal(t, "forward", c.Name())
}

// TestForwardMatchesFixtures runs the CLI on the fixtures' case files and
// compares logits and loss with the HF values (base, LoRA adapter, MLM).
func TestForwardMatchesFixtures(t *testing.T) {
	fx := sharedPath(t, "fixtures")
	for _, tc := range []struct {
		name, model, input, adapter, smoothing string
		logitsKey                              []string
		lossKey                                []string
	}{
		{"bert", "bert", "bert/case.json", "", "0", []string{"outputs", "logits"}, []string{"outputs", "loss"}},
		{"electra", "electra", "electra/case.json", "", "0", []string{"outputs", "logits"}, []string{"outputs", "loss"}},
		{"bert-lora", "bert", "bert/lora.json", "bert/adapter", "0.1", []string{"logits"}, []string{"loss"}},
		{"electra-lora-step1", "electra", "electra/lora.json", "electra/adapter_step1", "0.1", []string{"logits_after_step"}, []string{"loss_after_step"}},
		{"bert-mlm", "bert/mlm", "bert/mlm.json", "", "0", []string{"outputs", "logits"}, []string{"outputs", "loss"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := []string{"--model", filepath.Join(fx, tc.model), "--input", filepath.Join(fx, tc.input), "--label-smoothing", tc.smoothing}
			if tc.adapter != "" {
				args = append(args, "--adapter", filepath.Join(fx, tc.adapter))
			}
			stdout, err := execCmd(newForwardCmd(), args...)
			require.NoError(t, err, stdout)
			var got fwdOutput
			require.NoError(t, json.Unmarshal([]byte(stdout), &got))
			raw, err := os.ReadFile(filepath.Join(fx, tc.input))
			require.NoError(t, err)
			var doc map[string]any
			require.NoError(t, json.Unmarshal(raw, &doc))
			want := dig(doc, tc.logitsKey).(map[string]any)
			var wantData []float64
			for _, v := range want["data"].([]any) {
				wantData = append(wantData, v.(float64))
			}
			assert.Equal(t, "float32", got.Logits.DType)
			// HF parity bar (DEVELOPERS.md): ~25× the √K·u·|logit| drift of two float32 sum orders here.
			assert.LessOrEqual(t, fwdMaxDiff(t, wantData, got.Logits.Data), 1e-4)
			require.NotNil(t, got.Loss)
			assert.InDelta(t, dig(doc, tc.lossKey).(float64), *got.Loss, 1e-4) // |Δloss| ≤ 2·max|Δlogit|, averaged over tokens
		})
	}
}

func dig(m map[string]any, keys []string) any {
	var cur any = m
	for _, k := range keys {
		cur = cur.(map[string]any)[k]
	}
	return cur
}

func TestForwardErrors(t *testing.T) {
	fx := sharedPath(t, "fixtures")
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	require.NoError(t, os.WriteFile(bad, []byte(`{"inputs": {"input_ids": {"shape": [1, 3], "data": [2, 500, 3]}}}`), 0o644))
	_, err := execCmd(newForwardCmd(), "--model", filepath.Join(fx, "bert"), "--input", bad)
	assert.ErrorContains(t, err, "index 500 at position 1")
	short := filepath.Join(dir, "short.json")
	require.NoError(t, os.WriteFile(short, []byte(`{"input_ids": {"shape": [1, 3], "data": [2, 5, 3]}, "attention_mask": {"shape": [1,2], "data": [1, 1]}}`), 0o644))
	_, err = execCmd(newForwardCmd(), "--model", filepath.Join(fx, "bert"), "--input", short)
	assert.ErrorContains(t, err, "attention_mask has 2 values")
	ok := filepath.Join(dir, "ok.json")
	require.NoError(t, os.WriteFile(ok, []byte(`{"input_ids": {"shape": [1, 3], "data": [2, 5, 3]}}`), 0o644))
	out, err := execCmd(newForwardCmd(), "--model", filepath.Join(fx, "bert"), "--input", ok)
	require.NoError(t, err)
	var got fwdOutput
	require.NoError(t, json.Unmarshal([]byte(out), &got))
	assert.Equal(t, []int{1, 3, 5}, got.Logits.Shape)
	assert.Nil(t, got.Loss, "no labels, no loss")
	_, err = execCmd(newForwardCmd(), "--model", dir, "--input", ok)
	assert.Error(t, err)
}
