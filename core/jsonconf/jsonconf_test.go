package jsonconf

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type inner struct {
	Depth int `json:"depth"`
}

type sample struct {
	inner
	Name   string `json:"name"`
	Hidden string `json:"-"`
	Plain  int
}

// Unknown fields, trailing data and syntax errors are refused, naming what
// is valid or where the error is; an embedded struct's keys are listed.
func TestDecode(t *testing.T) {
	var s sample
	require.NoError(t, Decode([]byte(`{"name":"a","depth":2,"Plain":3}`), &s))
	assert.Equal(t, sample{inner: inner{Depth: 2}, Name: "a", Plain: 3}, s)
	err := Decode([]byte(`{"nam":"a"}`), &s)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `unknown option "nam" (valid: Plain, depth, name)`)
	assert.ErrorContains(t, Decode([]byte(`{} {}`), &s), "trailing data")
	assert.ErrorContains(t, Decode([]byte(`{"name":`), &s), "")
	assert.ErrorContains(t, Decode([]byte(`{"name":1x}`), &s), "invalid JSON at byte")
	assert.ErrorContains(t, Decode([]byte(` null`), &s), "want a JSON object")
	assert.ErrorContains(t, Decode([]byte(`[1]`), &s), "want a JSON object")
	var n int
	require.NoError(t, Decode([]byte(`3`), &n))
	p := filepath.Join(t.TempDir(), "c.json")
	require.NoError(t, os.WriteFile(p, []byte(`{"bad":1}`), 0o644))
	err = ReadFile(p, &s)
	require.Error(t, err)
	assert.Contains(t, err.Error(), p)
}
