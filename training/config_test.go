package training

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
)

// The paper's defaults, and Config's JSON (training_args.json) round-trips.
func TestDefaultConfigAndJSON(t *testing.T) {
	c := DefaultConfig()
	require.Equal(t, MethodLoRA, c.Method)
	require.Equal(t, LoRAOptions{R: 16, Alpha: 32, Dropout: 0.05, Targets: []string{"query", "value"}}, c.LoRA)
	require.Equal(t, 0.1, c.WarmupRatio)
	require.Equal(t, 0.1, c.LabelSmoothing)
	require.Equal(t, 0.01, c.WeightDecay)
	require.Equal(t, 1.0, c.MaxGradNorm)
	require.Equal(t, 3, c.Patience)
	require.Equal(t, 256, c.MaxLen)
	require.Equal(t, 50, c.Stride)
	c.Method = MethodFull
	b, err := json.Marshal(c)
	require.NoError(t, err)
	require.Contains(t, string(b), `"method":"full"`)
	var back Config
	require.NoError(t, json.Unmarshal(b, &back))
	require.Equal(t, MethodFull, back.Method)
	require.Equal(t, c.LoRA, back.LoRA)
	require.Error(t, json.Unmarshal([]byte(`{"method":"qlora"}`), &back))
}
