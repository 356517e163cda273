package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The job itself runs in tests/interop/test_spark.py (real PySpark); here:
// an interpreter without the package gets an error that says what to do.
func TestSparkTagNamesMissingInterpreter(t *testing.T) {
	t.Setenv(envPython, "/nonexistent/python")
	_, _, err := runCmd(newSparkTagCmd(), "", "--input", "x.parquet", "--output", t.TempDir()+"/out")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "/nonexistent/python cannot import openmed.spark")
	assert.Contains(t, err.Error(), envPython)
}

func TestLastLine(t *testing.T) {
	assert.Equal(t, "ModuleNotFoundError: x", lastLine([]byte("Traceback\n  File\nModuleNotFoundError: x\n\n")))
	assert.Equal(t, "", lastLine(nil))
}
