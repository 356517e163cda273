package onnx

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// checkerScript runs onnx.checker with full_check (strict shape inference) on
// every path given and prints, per model, opset and IR version and the
// inferred output shapes.
const checkerScript = `
import sys, onnx
for path in sys.argv[1:]:
    onnx.checker.check_model(path, full_check=True)
    m = onnx.shape_inference.infer_shapes(onnx.load(path), check_type=True, strict_mode=True)
    outs = ["%s %s" % (o.name, [d.dim_param or d.dim_value for d in o.type.tensor_type.shape.dim]) for o in m.graph.output]
    print(m.opset_import[0].version, m.ir_version, "|", "; ".join(outs))
`

func TestExportPassesONNXChecker(t *testing.T) {
	shared := sharedDir(t)
	py := pythonONNX(t)
	archs := []string{"bert", "electra", "deberta_v3"}
	args := []string{"-c", checkerScript}
	for _, arch := range archs {
		res, err := Export(filepath.Join(shared, "fixtures", arch), filepath.Join(t.TempDir(), arch), ExportOptions{})
		require.NoError(t, err, arch)
		args = append(args, res.ModelFile)
	}
	got, err := exec.Command(py, args...).CombinedOutput()
	require.NoError(t, err, "onnx.checker rejected an export:\n%s", got)
	lines := strings.Split(strings.TrimSpace(string(got)), "\n")
	require.Len(t, lines, len(archs), string(got))
	for i, arch := range archs {
		assert.Equal(t, "17 8 | logits ['batch_size', 'sequence_length', 5]", lines[i], arch)
	}
}

func TestExportLayout(t *testing.T) {
	src := filepath.Join(sharedDir(t), "fixtures", "electra")
	// A model folder with tokenizer files next to the weights.
	model := t.TempDir()
	for _, f := range []string{"config.json", "model.safetensors"} {
		data, err := os.ReadFile(filepath.Join(src, f))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(model, f), data, 0o644))
	}
	tok := []byte(`{"version":"1.0","model":{"type":"WordPiece"}}`)
	require.NoError(t, os.WriteFile(filepath.Join(model, "tokenizer.json"), tok, 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(model, "vocab.txt"), []byte("[PAD]\n"), 0o644))

	out := filepath.Join(t.TempDir(), "export")
	res, err := Export(model, out, ExportOptions{ProducerVersion: "9.9"})
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(out, "onnx", "model.onnx"), res.ModelFile)
	assert.Equal(t, []string{filepath.Join(out, "config.json"), filepath.Join(out, "tokenizer.json"), filepath.Join(out, "vocab.txt")}, res.Copied)
	for _, f := range []string{"config.json", "tokenizer.json", "vocab.txt"} {
		want, err := os.ReadFile(filepath.Join(model, f))
		require.NoError(t, err)
		got, err := os.ReadFile(filepath.Join(out, f))
		require.NoError(t, err)
		assert.Equal(t, want, got, "%s copied byte for byte", f)
	}
	st, err := os.Stat(res.ModelFile)
	require.NoError(t, err)
	assert.EqualValues(t, res.Bytes, st.Size())
	entries, err := os.ReadDir(filepath.Join(out, "onnx"))
	require.NoError(t, err)
	require.Len(t, entries, 1, "no temp files left behind")

	// Exporting into the model folder itself works (nothing copied onto itself).
	res2, err := Export(model, model, ExportOptions{})
	require.NoError(t, err)
	assert.Equal(t, res.Bytes, res2.Bytes)

	// Deterministic: the same model gives the same bytes.
	a, err := os.ReadFile(res.ModelFile)
	require.NoError(t, err)
	b, err := os.ReadFile(res2.ModelFile)
	require.NoError(t, err)
	assert.NotEqual(t, a, b, "producer_version differs (9.9 vs dev)")
	res3, err := Export(model, filepath.Join(t.TempDir(), "again"), ExportOptions{ProducerVersion: "9.9"})
	require.NoError(t, err)
	c, err := os.ReadFile(res3.ModelFile)
	require.NoError(t, err)
	assert.Equal(t, a, c)
}

func TestExportErrors(t *testing.T) {
	_, err := Export(filepath.Join(t.TempDir(), "missing"), t.TempDir(), ExportOptions{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "missing")

	// config.json present but no weights.
	dir := t.TempDir()
	data, err := os.ReadFile(filepath.Join(sharedDir(t), "fixtures", "bert", "config.json"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "config.json"), data, 0o644))
	_, err = Export(dir, t.TempDir(), ExportOptions{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), dir)

	// Unsupported architectures: a clear error, not a broken graph.
	cfg := filepath.Join(t.TempDir(), "roberta")
	require.NoError(t, os.MkdirAll(cfg, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(cfg, "config.json"), []byte(strings.Replace(string(data), `"model_type": "bert"`, `"model_type": "roberta"`, 1)), 0o644))
	src, err := os.ReadFile(filepath.Join(sharedDir(t), "fixtures", "bert", "model.safetensors"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(cfg, "model.safetensors"), src, 0o644))
	_, err = Export(cfg, t.TempDir(), ExportOptions{})
	assert.ErrorContains(t, err, `model_type "roberta"`)
}

// The aggregation consistent with training is recorded in the exported
// config.json (HF task_specific_params) and the rest of the config is kept.
func TestExportRecordsAggregation(t *testing.T) {
	out := t.TempDir()
	_, err := Export(filepath.Join(sharedDir(t), "fixtures", "electra"), out, ExportOptions{Aggregation: "first"})
	require.NoError(t, err)
	data, err := os.ReadFile(filepath.Join(out, "config.json"))
	require.NoError(t, err)
	var c map[string]any
	require.NoError(t, json.Unmarshal(data, &c))
	assert.Equal(t, map[string]any{"token-classification": map[string]any{"aggregation_strategy": "first"}}, c["task_specific_params"])
	assert.NotEmpty(t, c["id2label"])
	plain := t.TempDir()
	_, err = Export(filepath.Join(sharedDir(t), "fixtures", "electra"), plain, ExportOptions{})
	require.NoError(t, err)
	data, err = os.ReadFile(filepath.Join(plain, "config.json"))
	require.NoError(t, err)
	assert.NotContains(t, string(data), "task_specific_params")
}
