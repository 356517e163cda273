package tagger

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// ortSharedDir returns ../shared relative to the repository root (the directory
// holding go.mod), skipping the test when it is absent.
func ortSharedDir(t testing.TB) string {
	t.Helper()
	wd, err := os.Getwd()
	require.NoError(t, err)
	dir := wd
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Skipf("../shared not found: no go.mod above %s", wd)
		}
		dir = parent
	}
	shared := filepath.Join(dir, "..", "shared")
	if _, err := os.Stat(filepath.Join(shared, "fixtures")); err != nil {
		t.Skipf("../shared not found: %s has no fixtures/ (%v)", shared, err)
	}
	return shared
}

// ortRequire skips when ONNX Runtime is unavailable, except under CI=true,
// where `make setup` installs it and its absence is a failure.
func ortRequire(t testing.TB) {
	t.Helper()
	if _, err := initORT(""); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("ONNX Runtime unavailable under CI=true (make setup installs it): %v", err)
		}
		t.Skipf("ONNX Runtime unavailable (run `make setup` or set %s): %v", EnvORTLib, err)
	}
}

// ortJSONArray is the fixtures' {"dtype","shape","data"} array encoding.
type ortJSONArray struct {
	DType string    `json:"dtype"`
	Shape []int     `json:"shape"`
	Data  []float64 `json:"data"`
}

// ortFixtureCase is the part of case.json the ORT tests use.
type ortFixtureCase struct {
	Inputs struct {
		InputIDs      ortJSONArray `json:"input_ids"`
		AttentionMask ortJSONArray `json:"attention_mask"`
		TokenTypeIDs  ortJSONArray `json:"token_type_ids"`
	} `json:"inputs"`
	Outputs struct {
		Logits ortJSONArray `json:"logits"`
	} `json:"outputs"`
}

func ortLoadCase(t testing.TB, path string) *ortFixtureCase {
	t.Helper()
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	var c ortFixtureCase
	require.NoError(t, json.Unmarshal(raw, &c), path)
	require.Len(t, c.Outputs.Logits.Shape, 3, "%s: logits shape", path)
	return &c
}

// rows turns a [B,L] int64 array into rows.
func (a ortJSONArray) rows(t testing.TB) [][]int64 {
	t.Helper()
	if len(a.Shape) == 0 {
		return nil
	}
	require.Len(t, a.Shape, 2)
	out := make([][]int64, a.Shape[0])
	for i := range out {
		out[i] = make([]int64, a.Shape[1])
		for j := range out[i] {
			out[i][j] = int64(a.Data[i*a.Shape[1]+j])
		}
	}
	return out
}
