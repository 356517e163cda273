package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/openmed/openmed/core/tagger"
)

func TestExportCommandRegistered(t *testing.T) {
	c, _, err := rootCmd.Find([]string{"export"})
	require.NoError(t, err)
	assert.Equal(t, "export", c.Name())
}

func TestExportCommand(t *testing.T) {
	fx := sharedPath(t, "fixtures", "bert")
	out := t.TempDir()
	stdout, err := execCmd(newExportCmd(), "--model", fx, "--out", out)
	require.NoError(t, err, stdout)
	assert.Contains(t, stdout, filepath.Join(out, "onnx", "model.onnx"))
	assert.FileExists(t, filepath.Join(out, "onnx", "model.onnx"))
	assert.FileExists(t, filepath.Join(out, "config.json"))

	// The exported folder loads in the ORT backend with the config's labels.
	if _, err := tagger.ResolveORTLibrary(""); err == nil {
		be, err := tagger.NewORT(out, tagger.ORTOptions{IntraOpThreads: 1})
		require.NoError(t, err)
		defer be.Close()
		assert.Equal(t, 5, be.NumLabels())

		stdout, err = execCmd(newExportCmd(), "--model", fx, "--out", out, "--verify", "--threads", "1")
		require.NoError(t, err, stdout)
		assert.Contains(t, stdout, "logits [1 4 5]")

		_, err = execCmd(newExportCmd(), "--model", fx, "--out", t.TempDir(), "--verify", "--device", "cuda")
		require.Error(t, err)
		assert.Contains(t, err.Error(), "CUDA")
	} else if os.Getenv("CI") == "true" {
		t.Fatalf("ONNX Runtime missing under CI=true: %v", err)
	}
}

func TestExportCommandErrors(t *testing.T) {
	_, err := execCmd(newExportCmd(), "--out", t.TempDir())
	assert.ErrorContains(t, err, `"model"`)
	_, err = execCmd(newExportCmd(), "--model", filepath.Join(t.TempDir(), "nope"), "--out", t.TempDir())
	assert.ErrorContains(t, err, "nope")
	_, err = execCmd(newExportCmd(), "--model", t.TempDir(), "--out", t.TempDir(), "--device", "tpu")
	assert.ErrorContains(t, err, `unknown device "tpu"`)
}

func TestExportCommandAllArchitectures(t *testing.T) {
	fx := sharedPath(t, "fixtures")
	if _, err := tagger.ResolveORTLibrary(""); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("ONNX Runtime missing under CI=true: %v", err)
		}
		t.Skipf("ONNX Runtime unavailable: %v", err)
	}
	for _, arch := range []string{"bert", "electra", "deberta_v3"} {
		out := t.TempDir()
		stdout, err := execCmd(newExportCmd(), "--model", filepath.Join(fx, arch), "--out", out, "--verify", "--threads", "1")
		require.NoError(t, err, "%s: %s", arch, stdout)
		assert.Contains(t, stdout, "logits [1 4 5]", arch)
	}
}
