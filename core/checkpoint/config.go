package checkpoint

import (
	"encoding/json"
	"fmt"
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
	raw, err := decodeKeepingRaw(data, &p)
	if err != nil {
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
		list, s, err := listOrString("pos_att_type", msg)
		if err != nil {
			return err
		}
		if list == nil {
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

// SetRaw sets a field this struct does not model to v's JSON encoding
// (written by Save).
func (c *Config) SetRaw(field string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if c.raw == nil {
		c.raw = map[string]json.RawMessage{}
	}
	c.raw[field] = b
	return nil
}

// LoadConfig reads a config.json; path may be the file or its folder.
func LoadConfig(path string) (*Config, error) {
	c := &Config{}
	if err := readJSON(resolveFile(path, ConfigFile), c); err != nil {
		return nil, err
	}
	return c, nil
}

// Save writes the config as indented JSON with sorted keys (Hugging Face's
// to_json_file layout), atomically; path may be a folder.
func (c *Config) Save(path string) error {
	return writeJSON(resolveFile(path, ConfigFile), c)
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
