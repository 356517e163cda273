package tagger

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestEntityJSON: grouped entities use HF's "entity_group", token-level ones
// "entity" + "index"; both round-trip through UnmarshalJSON.
func TestEntityJSON(t *testing.T) {
	g := Entity{Label: "Disease", Score: 0.5, Text: "☃ mice", Start: 35, End: 41, StartByte: 35, EndByte: 43, Index: -1}
	b, err := json.Marshal(g)
	require.NoError(t, err)
	assert.JSONEq(t, `{"entity_group":"Disease","score":0.5,"word":"☃ mice","start":35,"end":41,"start_byte":35,"end_byte":43}`, string(b))
	var back Entity
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Equal(t, g, back)

	tok := Entity{Label: "B-Disease", Score: 0.25, Text: "renal", Start: 1, End: 6, StartByte: 1, EndByte: 6, Index: 3, Adapter: "d"}
	b, err = json.Marshal(tok)
	require.NoError(t, err)
	assert.JSONEq(t, `{"entity":"B-Disease","score":0.25,"index":3,"word":"renal","start":1,"end":6,"start_byte":1,"end_byte":6,"adapter":"d"}`, string(b))
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Equal(t, tok, back)
}
