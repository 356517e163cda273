package checkpoint

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// ModelType is the Hugging Face `model_type` of a config.json.
type ModelType string

// Model types openmed understands (transformers' CONFIG_MAPPING names).
const (
	ModelBERT      ModelType = "bert"
	ModelElectra   ModelType = "electra"
	ModelDebertaV2 ModelType = "deberta-v2"
	ModelRoberta   ModelType = "roberta"
)

// Activation is a Hugging Face `hidden_act` name (transformers ACT2FN keys).
type Activation string

// Activations used by the supported encoders.
const (
	// ActGELU is the exact erf GELU (torch.nn.functional.gelu).
	ActGELU Activation = "gelu"
	// ActGELUNew is the tanh approximation ("gelu_new" / "gelu_pytorch_tanh").
	ActGELUNew Activation = "gelu_new"
	// ActReLU is max(0,x).
	ActReLU Activation = "relu"
)

// ConfigFile is the file name of a model configuration in a Hugging Face folder.
const ConfigFile = "config.json"

// Config is a Hugging Face config.json (PretrainedConfig and the BERT,
// ELECTRA and DeBERTa-v2 subclasses). Fields not listed here are kept in the
// raw map and written back unchanged by Save.
type Config struct {
	ModelType                 ModelType  `json:"model_type"`
	Architectures             []string   `json:"architectures,omitempty"`
	VocabSize                 int        `json:"vocab_size"`
	HiddenSize                int        `json:"hidden_size"`
	NumHiddenLayers           int        `json:"num_hidden_layers"`
	NumAttentionHeads         int        `json:"num_attention_heads"`
	IntermediateSize          int        `json:"intermediate_size"`
	HiddenAct                 Activation `json:"hidden_act"`
	HiddenDropoutProb         float64    `json:"hidden_dropout_prob"`
	AttentionProbsDropoutProb float64    `json:"attention_probs_dropout_prob"`
	MaxPositionEmbeddings     int        `json:"max_position_embeddings"`
	TypeVocabSize             int        `json:"type_vocab_size"`
	LayerNormEps              float64    `json:"layer_norm_eps"`
	PadTokenID                int        `json:"pad_token_id"`
	// EmbeddingSize is ELECTRA's embedding width; 0 means HiddenSize.
	EmbeddingSize    int     `json:"embedding_size,omitempty"`
	InitializerRange float64 `json:"initializer_range"`
	// ID2Label maps class index to BIO label ("id2label", string keys on disk).
	ID2Label map[int]string `json:"-"`
	// Label2ID is the inverse map ("label2id").
	Label2ID map[string]int `json:"label2id,omitempty"`

	// DeBERTa-v2/v3 relative attention (DebertaV2Config).
	RelativeAttention    bool   `json:"relative_attention,omitempty"`
	PositionBuckets      int    `json:"position_buckets,omitempty"`
	MaxRelativePositions int    `json:"max_relative_positions,omitempty"`
	NormRelEbd           string `json:"norm_rel_ebd,omitempty"`
	ShareAttKey          bool   `json:"share_att_key,omitempty"`
	// PosAttType lists "c2p"/"p2c"; the "p2c|c2p" string form is accepted.
	PosAttType []string `json:"-"`
	// PositionBiasedInput is nil when absent (DebertaV2Config default true).
	PositionBiasedInput *bool `json:"position_biased_input,omitempty"`

	raw map[string]json.RawMessage
}

// UsesPositionBiasedInput reports DeBERTa's position_biased_input with the
// DebertaV2Config default (true) when absent.
func (c *Config) UsesPositionBiasedInput() bool {
	return c.PositionBiasedInput == nil || *c.PositionBiasedInput
}

// EmbeddingDim is the width of the embedding layer (EmbeddingSize, or HiddenSize when 0).
func (c *Config) EmbeddingDim() int {
	if c.EmbeddingSize > 0 {
		return c.EmbeddingSize
	}
	return c.HiddenSize
}

// BasePrefix is the state_dict prefix of the base model inside the *For*
// classes (transformers' base_model_prefix): "bert", "electra", "deberta",
// "roberta"; "" for an unknown model type.
func (c *Config) BasePrefix() string {
	switch c.ModelType {
	case ModelBERT:
		return "bert"
	case ModelElectra:
		return "electra"
	case ModelDebertaV2:
		return "deberta"
	case ModelRoberta:
		return "roberta"
	}
	return ""
}

// NumLabels is the number of classes (len(id2label), PretrainedConfig.num_labels).
func (c *Config) NumLabels() int {
	if len(c.ID2Label) > 0 {
		return len(c.ID2Label)
	}
	return len(c.Label2ID)
}

// Labels returns the labels ordered by class index.
func (c *Config) Labels() []string {
	out := make([]string, c.NumLabels())
	for i := range out {
		out[i] = c.ID2Label[i]
	}
	return out
}

// ParseConfig decodes config.json bytes.
func ParseConfig(data []byte) (*Config, error) {
	c := &Config{}
	if err := json.Unmarshal(data, c); err != nil {
		return nil, err
	}
	return c, nil
}

// UnmarshalJSON implements json.Unmarshaler: it decodes the known fields,
// converts id2label's string keys to ints, accepts pos_att_type as a list or
// as a "|"-separated string (DebertaV2Config.__init__), and keeps the raw map.
func (c *Config) UnmarshalJSON(data []byte) error {
	type plain Config
	var p plain
	if err := json.Unmarshal(data, &p); err != nil {
		return err
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return err
	}
	*c = Config(p)
	c.raw = raw
	if msg, ok := raw["id2label"]; ok && string(msg) != "null" {
		var m map[string]string
		if err := json.Unmarshal(msg, &m); err != nil {
			return fmt.Errorf("field id2label: %w", err)
		}
		c.ID2Label = make(map[int]string, len(m))
		for k, v := range m {
			i, err := strconv.Atoi(k)
			if err != nil {
				return fmt.Errorf("field id2label: key %q is not an integer", k)
			}
			c.ID2Label[i] = v
		}
		for i := range len(m) {
			if _, ok := c.ID2Label[i]; !ok {
				return fmt.Errorf("field id2label: class ids are not 0..%d (missing %d)", len(m)-1, i)
			}
		}
	}
	if msg, ok := raw["pos_att_type"]; ok && string(msg) != "null" {
		var list []string
		if err := json.Unmarshal(msg, &list); err != nil {
			var s string
			if err2 := json.Unmarshal(msg, &s); err2 != nil {
				return fmt.Errorf("field pos_att_type: want a list or a string, got %s", msg)
			}
			for _, part := range strings.Split(s, "|") {
				if part = strings.TrimSpace(strings.ToLower(part)); part != "" {
					list = append(list, part)
				}
			}
		}
		c.PosAttType = list
	}
	return nil
}

// MarshalJSON writes the raw map with the known fields overlaid, keys sorted
// (as PretrainedConfig.to_json_string with sort_keys=True).
func (c *Config) MarshalJSON() ([]byte, error) {
	type plain Config
	out, err := overlayJSON(c.raw, (*plain)(c))
	if err != nil {
		return nil, err
	}
	if c.ID2Label != nil {
		m := make(map[string]string, len(c.ID2Label))
		for k, v := range c.ID2Label {
			m[strconv.Itoa(k)] = v
		}
		b, _ := json.Marshal(m)
		out["id2label"] = b
	}
	if c.PosAttType != nil {
		b, _ := json.Marshal(c.PosAttType)
		out["pos_att_type"] = b
	}
	return json.Marshal(out)
}

// Raw returns the raw JSON value of a config field (nil when absent), for
// fields this struct does not model.
func (c *Config) Raw(field string) json.RawMessage { return c.raw[field] }

// resolveFile returns path, or path/name when path is a directory.
func resolveFile(path, name string) string {
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return filepath.Join(path, name)
	}
	return path
}

// LoadConfig reads a config.json; path may be the file or its folder.
func LoadConfig(path string) (*Config, error) {
	path = resolveFile(path, ConfigFile)
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	c, err := ParseConfig(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, jsonErrorContext(data, err))
	}
	return c, nil
}

// Save writes the config as indented JSON with sorted keys (Hugging Face's
// to_json_file layout), atomically; path may be a folder.
func (c *Config) Save(path string) error {
	path = resolveFile(path, ConfigFile)
	data, err := marshalIndentSorted(c)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return WriteFileAtomic(path, data)
}

// marshalIndentSorted marshals v, re-indents with two spaces and appends a newline.
func marshalIndentSorted(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	if err := json.Indent(&out, b, "", "  "); err != nil {
		return nil, err
	}
	out.WriteByte('\n')
	return out.Bytes(), nil
}

// jsonErrorContext adds the line and column to JSON syntax and type errors.
func jsonErrorContext(data []byte, err error) error {
	var off int64 = -1
	switch e := err.(type) {
	case *json.SyntaxError:
		off = e.Offset
	case *json.UnmarshalTypeError:
		off = e.Offset
		if e.Field != "" {
			err = fmt.Errorf("field %s: %w", e.Field, err)
		}
	}
	if off < 0 || off > int64(len(data)) {
		return err
	}
	line := 1 + bytes.Count(data[:off], []byte{'\n'})
	col := off - int64(bytes.LastIndexByte(data[:off], '\n'))
	return fmt.Errorf("line %d col %d: %w", line, col, err)
}

// sortedKeys returns the keys of m in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// overlayJSON returns a copy of raw (a file's fields as read, unknown ones
// included) with the JSON fields of known written over it, so that saving a
// config keeps every field this package does not model.
func overlayJSON(raw map[string]json.RawMessage, known any) (map[string]json.RawMessage, error) {
	data, err := json.Marshal(known)
	if err != nil {
		return nil, err
	}
	var km map[string]json.RawMessage
	if err := json.Unmarshal(data, &km); err != nil {
		return nil, err
	}
	out := make(map[string]json.RawMessage, len(raw)+len(km)+2)
	for k, v := range raw {
		out[k] = v
	}
	for k, v := range km {
		out[k] = v
	}
	return out, nil
}
