package testutil

import (
	"encoding/json"
	"math"
	"os"
	"testing"
)

// Array is the shared fixtures' JSON array encoding (fixtures README §4):
// {"dtype": "float32"|"int64", "shape": [...], "data": [flat, row-major]},
// each float32 written as the exactly widened float64.
type Array struct {
	DType string    `json:"dtype"`
	Shape []int     `json:"shape"`
	Data  []float64 `json:"data"`
}

// F32 returns the values as float32 (exact for the fixtures' float32 data).
func (a Array) F32() []float32 {
	out := make([]float32, len(a.Data))
	for i, v := range a.Data {
		out[i] = float32(v)
	}
	return out
}

// I32 returns the values as int32 (ids, masks, labels).
func (a Array) I32() []int32 {
	out := make([]int32, len(a.Data))
	for i, v := range a.Data {
		out[i] = int32(v)
	}
	return out
}

// ReadJSON decodes the JSON file at path into v, failing the test on error.
func ReadJSON(t testing.TB, path string, v any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// MaxAbsDiff is max_i |want[i] − got[i]|; lengths must agree.
func MaxAbsDiff(t testing.TB, want []float64, got []float32) float64 {
	t.Helper()
	if len(want) != len(got) {
		t.Fatalf("length mismatch: want %d values, got %d", len(want), len(got))
	}
	var m float64
	for i, w := range want {
		m = math.Max(m, math.Abs(w-float64(got[i])))
	}
	return m
}
