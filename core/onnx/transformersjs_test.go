package onnx

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/openmed/openmed/internal/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestTransformersJSLoadsExport runs tests/js/onnx_parity.mjs: the export is
// loaded by @huggingface/transformers 4.3.1 (AutoModelForTokenClassification,
// fp32, offline) and its logits must match the HF fixture within 1e-4. Needs
// node and `npm ci --prefix tests/js` (make setup); skipped otherwise, failed
// under CI=true.
func TestTransformersJSLoadsExport(t *testing.T) {
	shared := sharedDir(t)
	script := filepath.Join(repoRoot(t), "tests", "js", "onnx_parity.mjs")
	mods := filepath.Join(repoRoot(t), "tests", "js", "node_modules", "@huggingface", "transformers")
	node, err := exec.LookPath("node")
	if err == nil {
		_, err = os.Stat(mods)
	}
	if err != nil {
		msg := "transformers.js check needs node and `npm ci --prefix tests/js` (make setup): " + err.Error()
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	for _, arch := range []string{"bert", "electra", "deberta_v3"} {
		t.Run(arch, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), arch)
			_, err := Export(filepath.Join(shared, "fixtures", arch), out, ExportOptions{})
			require.NoError(t, err)
			cmd := exec.Command(node, script, out, filepath.Join(shared, "fixtures", arch, "case.json"), "1e-4")
			got, err := cmd.Output()
			var res struct {
				OK      bool    `json:"ok"`
				MaxDiff float64 `json:"maxDiff"`
				Dims    []int   `json:"dims"`
			}
			require.NoError(t, json.Unmarshal(got, &res), "node output: %s (%v)", got, err)
			t.Logf("%s: transformers.js max |Δlogits| = %.3g", arch, res.MaxDiff)
			assert.NoError(t, err)
			assert.True(t, res.OK)
			assert.Equal(t, []int{2, 12, 5}, res.Dims)
			assert.LessOrEqual(t, res.MaxDiff, 1e-4) // HF parity bar (DEVELOPERS.md): ~25× the √K·u·|logit| ≈ 4e-6 drift of two float32 sum orders
		})
	}
}

// repoRoot is the directory holding go.mod.
func repoRoot(t testing.TB) string {
	return testutil.Root(t)
}
