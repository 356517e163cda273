package tagger

import (
	"encoding/json"
	"fmt"
)

// Aggregation is Hugging Face TokenClassificationPipeline's
// aggregation_strategy: how token predictions become entities.
type Aggregation int

const (
	// AggregationNone returns one entity per (non-special) token with its
	// BIO label, as the pipeline's "none".
	AggregationNone Aggregation = iota
	// AggregationSimple groups consecutive tokens of the same type where the
	// next one is not B- (HF group_entities); the score is the mean of the
	// tokens' scores.
	AggregationSimple
	// AggregationFirst labels each word (sub-tokens sharing a word id) with
	// its first sub-token's prediction, then groups as simple.
	AggregationFirst
	// AggregationAverage averages the sub-tokens' score vectors per word,
	// takes the arg-max, then groups.
	AggregationAverage
	// AggregationMax labels each word with the prediction of its most
	// confident sub-token, then groups.
	AggregationMax
)

// String is the HF spelling ("none", "simple", "first", "average", "max").
func (a Aggregation) String() string {
	switch a {
	case AggregationNone:
		return "none"
	case AggregationSimple:
		return "simple"
	case AggregationFirst:
		return "first"
	case AggregationAverage:
		return "average"
	case AggregationMax:
		return "max"
	}
	return fmt.Sprintf("Aggregation(%d)", int(a))
}

// ParseAggregation reads an HF aggregation_strategy name.
func ParseAggregation(s string) (Aggregation, error) {
	for a := AggregationNone; a <= AggregationMax; a++ {
		if a.String() == s {
			return a, nil
		}
	}
	return AggregationNone, fmt.Errorf("tagger: unknown aggregation %q (want none, simple, first, average or max)", s)
}

// MarshalText implements encoding.TextMarshaler.
func (a Aggregation) MarshalText() ([]byte, error) { return []byte(a.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler; "" keeps the value
// (DefaultOptions' first when decoding options).
func (a *Aggregation) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	v, err := ParseAggregation(string(b))
	if err == nil {
		*a = v
	}
	return err
}

// Entity is one predicted entity, the dict HF's TokenClassificationPipeline
// returns: with AggregationNone one per token (Label is the BIO tag, as HF's
// "entity", and Index the token position), otherwise one per group (Label is
// the type without B-/I-, as HF's "entity_group", and Index is -1).
//
// Start/End are Unicode code-point offsets into the text (Python string
// indices; brat offsets too), StartByte/EndByte byte offsets into the Go
// string; both are half-open, and Text is text[StartByte:EndByte] — HF's
// "word" is the token string instead, which may differ by case or "##".
type Entity struct {
	Label     string  `json:"entity_group"`
	Score     float32 `json:"score"`
	Text      string  `json:"word"`
	Start     int     `json:"start"`
	End       int     `json:"end"`
	StartByte int     `json:"start_byte"`
	EndByte   int     `json:"end_byte"`
	// Index is the token index (AggregationNone) or -1.
	Index int `json:"index,omitempty"`
	// Adapter names the adapter that produced the entity when tagging with
	// several (WithAllAdapters); "" otherwise.
	Adapter string `json:"adapter,omitempty"`
}

// MarshalJSON writes HF's key names: "entity" and "index" for token-level
// entities, "entity_group" for groups; offsets in code points ("start",
// "end") and bytes ("start_byte", "end_byte").
func (e Entity) MarshalJSON() ([]byte, error) {
	if e.Index >= 0 {
		return json.Marshal(struct {
			Entity    string  `json:"entity"`
			Score     float32 `json:"score"`
			Index     int     `json:"index"`
			Word      string  `json:"word"`
			Start     int     `json:"start"`
			End       int     `json:"end"`
			StartByte int     `json:"start_byte"`
			EndByte   int     `json:"end_byte"`
			Adapter   string  `json:"adapter,omitempty"`
		}{e.Label, e.Score, e.Index, e.Text, e.Start, e.End, e.StartByte, e.EndByte, e.Adapter})
	}
	return json.Marshal(struct {
		EntityGroup string  `json:"entity_group"`
		Score       float32 `json:"score"`
		Word        string  `json:"word"`
		Start       int     `json:"start"`
		End         int     `json:"end"`
		StartByte   int     `json:"start_byte"`
		EndByte     int     `json:"end_byte"`
		Adapter     string  `json:"adapter,omitempty"`
	}{e.Label, e.Score, e.Text, e.Start, e.End, e.StartByte, e.EndByte, e.Adapter})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (e *Entity) UnmarshalJSON(b []byte) error {
	var raw struct {
		Entity      string
		EntityGroup string `json:"entity_group"`
		Score       float32
		Word        string
		Start, End  int
		StartByte   int `json:"start_byte"`
		EndByte     int `json:"end_byte"`
		Index       *int
		Adapter     string
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	*e = Entity{Label: raw.EntityGroup, Score: raw.Score, Text: raw.Word, Start: raw.Start, End: raw.End,
		StartByte: raw.StartByte, EndByte: raw.EndByte, Index: -1, Adapter: raw.Adapter}
	if raw.Entity != "" {
		e.Label = raw.Entity
	}
	if raw.Index != nil {
		e.Index = *raw.Index
	}
	return nil
}

// Token is one word of a tagged document with its predicted BIO tag (the
// first sub-token's prediction, as the paper's evaluation labels words, then
// repaired to valid IOB2) — what the CoNLL output prints.
type Token struct {
	Text      string  `json:"text"`
	Tag       string  `json:"tag"`
	Score     float32 `json:"score"`
	Start     int     `json:"start"`
	End       int     `json:"end"`
	StartByte int     `json:"start_byte"`
	EndByte   int     `json:"end_byte"`
}
