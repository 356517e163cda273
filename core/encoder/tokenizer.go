package encoder

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"unicode"

	"github.com/openmed/openmed/core/checkpoint"
	"github.com/openmed/openmed/core/tokenize"
)

// tokenizerFiles are the tokenizer files an imported folder gets: vocab.txt
// always (BertTokenizer), tokenizer.json when the release has one, and the
// lower-casing that tokenizer_config.json states.
type tokenizerFiles struct {
	vocab     []string // by id
	json      []byte   // tokenizer.json, nil when the release had none
	lowercase bool
	size      int
}

// bertSpecials are BERT's special tokens (tokenizer_config.json and
// special_tokens_map.json).
var bertSpecials = map[string]string{
	"unk_token": "[UNK]", "sep_token": "[SEP]", "pad_token": "[PAD]", "cls_token": "[CLS]", "mask_token": "[MASK]",
}

// loadTokenizerFiles reads a vocab.txt or a tokenizer.json (WordPiece) and
// settles the casing: an explicit casing wins, then the release's hint, then
// what the file says (tokenizer.json's normalizer) or shows (a vocab.txt
// without upper-case word tokens is uncased).
func loadTokenizerFiles(path string, casing, hint Casing) (tokenizerFiles, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return tokenizerFiles{}, fmt.Errorf("encoder: %w", err)
	}
	var tf tokenizerFiles
	fileCasing := CasingAuto
	if strings.HasSuffix(path, ".json") {
		tf.vocab, fileCasing, err = parseTokenizerJSON(data)
		if err != nil {
			return tokenizerFiles{}, fmt.Errorf("encoder: %s: %w", path, err)
		}
		tf.json = data
	} else {
		for _, line := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
			tf.vocab = append(tf.vocab, strings.TrimRight(line, "\r"))
		}
		fileCasing = vocabCasing(tf.vocab)
	}
	tf.size = len(tf.vocab)
	c := casing
	if c == CasingAuto {
		c = hint
	}
	if c == CasingAuto {
		c = fileCasing
	}
	tf.lowercase = c == CasingLower
	if tf.json != nil && c != fileCasing {
		if tf.json, err = setJSONLowercase(tf.json, tf.lowercase); err != nil {
			return tokenizerFiles{}, fmt.Errorf("encoder: %s: %w", path, err)
		}
	}
	return tf, nil
}

// parseTokenizerJSON returns the WordPiece vocabulary by id and the
// normalizer's casing of a tokenizer.json.
func parseTokenizerJSON(data []byte) ([]string, Casing, error) {
	var tj struct {
		Model struct {
			Type  string           `json:"type"`
			Vocab map[string]int64 `json:"vocab"`
		} `json:"model"`
		Normalizer *struct {
			Type      string `json:"type"`
			Lowercase *bool  `json:"lowercase"`
		} `json:"normalizer"`
	}
	if err := json.Unmarshal(data, &tj); err != nil {
		return nil, 0, err
	}
	if tj.Model.Type != "" && tj.Model.Type != "WordPiece" {
		return nil, 0, fmt.Errorf("model type %q: BERT-family imports need a WordPiece tokenizer", tj.Model.Type)
	}
	vocab := make([]string, len(tj.Model.Vocab))
	for tok, id := range tj.Model.Vocab {
		if id < 0 || id >= int64(len(vocab)) || vocab[id] != "" {
			return nil, 0, fmt.Errorf("vocabulary ids are not 0..%d without gaps (token %q has id %d)", len(vocab)-1, tok, id)
		}
		vocab[id] = tok
	}
	c := CasingCased
	if tj.Normalizer != nil && tj.Normalizer.Type == "BertNormalizer" && (tj.Normalizer.Lowercase == nil || *tj.Normalizer.Lowercase) {
		c = CasingLower
	}
	return vocab, c, nil
}

// setJSONLowercase rewrites a tokenizer.json's BertNormalizer lowercase flag.
func setJSONLowercase(data []byte, lower bool) ([]byte, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, err
	}
	var norm map[string]any
	if err := json.Unmarshal(m["normalizer"], &norm); err != nil || norm == nil || norm["type"] != "BertNormalizer" {
		return nil, fmt.Errorf("cannot set lower-casing: the normalizer is not a BertNormalizer")
	}
	norm["lowercase"] = lower
	b, err := json.Marshal(norm)
	if err != nil {
		return nil, err
	}
	m["normalizer"] = b
	return json.Marshal(m)
}

// vocabCasing guesses the casing of a WordPiece vocabulary: cased ones hold
// many word tokens with upper-case letters ("The", "DNA"); uncased ones
// hold none beyond the bracketed specials.
func vocabCasing(vocab []string) Casing {
	upper := 0
	for _, t := range vocab {
		if strings.HasPrefix(t, "[") && strings.HasSuffix(t, "]") {
			continue
		}
		if strings.IndexFunc(t, unicode.IsUpper) >= 0 {
			upper++
		}
	}
	if upper > len(vocab)/100 {
		return CasingCased
	}
	return CasingLower
}

// tokenizerConfigCasing reads do_lower_case from a tokenizer_config.json.
func tokenizerConfigCasing(path string) (Casing, bool) {
	data, err := os.ReadFile(path)
	if err != nil {
		return CasingAuto, false
	}
	var m struct {
		DoLowerCase *bool `json:"do_lower_case"`
	}
	if json.Unmarshal(data, &m) != nil || m.DoLowerCase == nil {
		return CasingAuto, false
	}
	if *m.DoLowerCase {
		return CasingLower, true
	}
	return CasingCased, true
}

// write puts vocab.txt, tokenizer.json (when there is one),
// tokenizer_config.json and special_tokens_map.json into dir.
func (tf tokenizerFiles) write(dir string, maxLen int) error {
	var vb bytes.Buffer
	for _, t := range tf.vocab {
		vb.WriteString(t)
		vb.WriteByte('\n')
	}
	if err := checkpoint.WriteFileAtomic(filepath.Join(dir, tokenize.FileVocab), vb.Bytes()); err != nil {
		return err
	}
	if tf.json != nil {
		if err := checkpoint.WriteFileAtomic(filepath.Join(dir, tokenize.FileJSON), tf.json); err != nil {
			return err
		}
	}
	cfg := map[string]any{
		"tokenizer_class": "BertTokenizer", "do_lower_case": tf.lowercase, "strip_accents": nil,
		"tokenize_chinese_chars": true, "model_max_length": maxLen,
	}
	for k, v := range bertSpecials {
		cfg[k] = v
	}
	for name, v := range map[string]any{tokenize.FileConfig: cfg, tokenize.FileSpecialTokens: bertSpecials} {
		b, err := json.MarshalIndent(v, "", "  ") // map keys come out sorted
		if err != nil {
			return err
		}
		if err := checkpoint.WriteFileAtomic(filepath.Join(dir, name), append(b, '\n')); err != nil {
			return err
		}
	}
	return nil
}
