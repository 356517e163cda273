package search

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/openmed/openmed/training"
)

// ParseOptions reads one flat object (trainer fields and search fields),
// keeps the defaults for what is left out and names the field of an error.
func TestParseOptions(t *testing.T) {
	o, err := ParseOptions([]byte(`{"base":"b","train":"t","dev":"d","output_dir":"s","trials":3,"method":"full","learning_rate":0.001}`))
	require.NoError(t, err)
	assert.Equal(t, 3, o.Trials)
	assert.Equal(t, "s", o.Dir)
	assert.Equal(t, training.MethodFull, o.Train.Method)
	assert.Equal(t, 0.001, o.Train.LR)
	assert.Equal(t, 1, o.Workers, "default kept")
	for in, want := range map[string]string{
		`{"base":"b","train":"t","output_dir":"s"}`:                               `dev is required`,
		`{"base":"b","train":"t","dev":"d","output_dir":"s","trials":0}`:          "trials",
		`{"base":"b","train":"t","dev":"d","output_dir":"s","sampler":"grid"}`:    "sampler",
		`{"base":"b","train":"t","dev":"d","output_dir":"s","tirals":2}`:          `unknown option "tirals"`,
		`{"base":"b","train":"t","dev":"d","output_dir":"s","space":[{"x":1}]}`:   "space",
		`{"base":"b","train":"t","dev":"d","output_dir":"s","pruner":{"kind":1}}`: "pruner",
		`null`: "JSON object",
	} {
		_, err := ParseOptions([]byte(in))
		require.Error(t, err, in)
		assert.Contains(t, err.Error(), want, in)
	}
}
