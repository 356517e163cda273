package tokenize

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"strings"
)

type jsonFile struct {
	AddedTokens   []AddedToken    `json:"added_tokens"`
	Normalizer    json.RawMessage `json:"normalizer"`
	PreTokenizer  json.RawMessage `json:"pre_tokenizer"`
	PostProcessor json.RawMessage `json:"post_processor"`
	Model         json.RawMessage `json:"model"`
}

type typed struct {
	Type string `json:"type"`
}

// componentType reads the "type" tag that selects the variant of every
// tokenizer.json component (model, normalizer, pre_tokenizer,
// post_processor), as serde's internally tagged enums in HF tokenizers.
func componentType(raw json.RawMessage) (string, error) {
	var ty typed
	if err := json.Unmarshal(raw, &ty); err != nil {
		return "", err
	}
	return ty.Type, nil
}

// decode unmarshals a component's fields into v; errors name the component
// type.
func decode(raw json.RawMessage, typ string, v any) error {
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("%s: %w", typ, err)
	}
	return nil
}

// variant is one value of a component's "type" tag and the parser that
// builds the component from its JSON. An empty typ matches a component
// without a tag (or with an empty one).
type variant[T any] struct {
	typ   string
	parse func(json.RawMessage) (T, error)
}

// parseTagged reads the "type" tag of a tokenizer.json component (serde's
// internally tagged enums in HF tokenizers) and runs the parser of the
// matching variant. A type no variant has is an error that lists the
// supported types in order (the untagged variant is not listed).
func parseTagged[T any](raw json.RawMessage, variants ...variant[T]) (T, error) {
	var zero T
	typ, err := componentType(raw)
	if err != nil {
		return zero, err
	}
	for _, v := range variants {
		if v.typ == typ {
			return v.parse(raw)
		}
	}
	var names []string
	for _, v := range variants {
		if v.typ != "" {
			names = append(names, v.typ)
		}
	}
	return zero, fmt.Errorf("type %q is not supported (%s)", typ, strings.Join(names, ", "))
}

// fields is the variant typ whose fields are decoded into a C (errors name
// typ) and built into the component by build.
func fields[C, T any](typ string, build func(C) (T, error)) variant[T] {
	return variant[T]{typ: typ, parse: func(raw json.RawMessage) (T, error) {
		var c C
		if err := decode(raw, typ, &c); err != nil {
			var zero T
			return zero, err
		}
		return build(c)
	}}
}

// constant is the variant typ that has no fields to read: it always builds v.
func constant[T any](typ string, v T) variant[T] {
	return variant[T]{typ: typ, parse: func(json.RawMessage) (T, error) { return v, nil }}
}

// parseMembers parses the members of a Sequence component (HF tokenizers'
// normalizers::Sequence, pre_tokenizers::Sequence) in order; errors name the
// member as field[i].
func parseMembers[T any](items []json.RawMessage, field string, parse func(json.RawMessage) (T, error)) ([]T, error) {
	var out []T
	for i, r := range items {
		x, err := parse(r)
		if err != nil {
			return nil, fmt.Errorf("%s[%d]: %w", field, i, err)
		}
		out = append(out, x)
	}
	return out, nil
}

func isNull(r json.RawMessage) bool {
	r = bytes.TrimSpace(r)
	return len(r) == 0 || string(r) == "null"
}

// FromTokenizerJSON loads a Hugging Face tokenizer.json file.
func FromTokenizerJSON(path string) (*Tokenizer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tokenize: %w", err)
	}
	t, err := ParseTokenizerJSON(data)
	if err != nil {
		return nil, fmt.Errorf("tokenize: %s: %w", path, err)
	}
	return t, nil
}

// ParseTokenizerJSON builds a Tokenizer from the bytes of a tokenizer.json.
// Errors name the offending field.
func ParseTokenizerJSON(data []byte) (*Tokenizer, error) {
	var f jsonFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("tokenizer.json: %w", err)
	}
	t := &Tokenizer{added: f.AddedTokens}
	var err error
	if isNull(f.Model) {
		return nil, fmt.Errorf("model: missing")
	}
	if t.model, err = parseModel(f.Model); err != nil {
		return nil, fmt.Errorf("model: %w", err)
	}
	if !isNull(f.Normalizer) {
		if t.normalizer, err = parseNormalizer(f.Normalizer); err != nil {
			return nil, fmt.Errorf("normalizer: %w", err)
		}
	}
	if !isNull(f.PreTokenizer) {
		if t.pre, err = parsePreTokenizer(f.PreTokenizer); err != nil {
			return nil, fmt.Errorf("pre_tokenizer: %w", err)
		}
	}
	if !isNull(f.PostProcessor) {
		if t.post, err = parsePostProcessor(f.PostProcessor); err != nil {
			return nil, fmt.Errorf("post_processor: %w", err)
		}
	}
	if err := t.finish(); err != nil {
		return nil, err
	}
	return t, nil
}

// wordPieceFields are the fields of a WordPiece model (HF
// models::wordpiece::WordPiece); an alias, so that decoding errors name the
// field as before (".vocab", not "wordPieceFields.vocab").
type wordPieceFields = struct {
	UnkToken                string           `json:"unk_token"`
	ContinuingSubwordPrefix *string          `json:"continuing_subword_prefix"`
	MaxInputCharsPerWord    *int             `json:"max_input_chars_per_word"`
	Vocab                   map[string]int32 `json:"vocab"`
}

// wordPieceModel builds a WordPiece model with HF's defaults ("##", 100,
// "[UNK]"); tagged says the model had a "type" tag, so that a model with
// neither tag nor vocab is reported as missing its type.
func wordPieceModel(m wordPieceFields, tagged bool) (model, error) {
	if m.Vocab == nil {
		if !tagged {
			return nil, fmt.Errorf("type: missing")
		}
		return nil, fmt.Errorf("vocab: missing")
	}
	prefix, maxChars := "##", 100
	if m.ContinuingSubwordPrefix != nil {
		prefix = *m.ContinuingSubwordPrefix
	}
	if m.MaxInputCharsPerWord != nil {
		maxChars = *m.MaxInputCharsPerWord
	}
	if m.UnkToken == "" {
		m.UnkToken = "[UNK]"
	}
	return newWordPiece(m.Vocab, m.UnkToken, prefix, maxChars)
}

func parseModel(raw json.RawMessage) (model, error) {
	untagged := fields("WordPiece", func(m wordPieceFields) (model, error) { return wordPieceModel(m, false) })
	untagged.typ = ""
	return parseTagged(raw,
		fields("WordPiece", func(m wordPieceFields) (model, error) { return wordPieceModel(m, true) }),
		untagged,
		fields("Unigram", func(m struct {
			UnkID        *int                `json:"unk_id"`
			Vocab        [][]json.RawMessage `json:"vocab"`
			ByteFallback bool                `json:"byte_fallback"`
		}) (model, error) {
			pieces := make([]string, len(m.Vocab))
			scores := make([]float64, len(m.Vocab))
			for i, e := range m.Vocab {
				if len(e) != 2 {
					return nil, fmt.Errorf("vocab[%d]: want [piece, score], got %d elements", i, len(e))
				}
				if err := json.Unmarshal(e[0], &pieces[i]); err != nil {
					return nil, fmt.Errorf("vocab[%d][0]: %w", i, err)
				}
				if err := json.Unmarshal(e[1], &scores[i]); err != nil {
					return nil, fmt.Errorf("vocab[%d][1]: %w", i, err)
				}
			}
			return newUnigram(pieces, scores, m.UnkID, m.ByteFallback)
		}),
	)
}

func parseNormalizer(raw json.RawMessage) (normalizer, error) {
	return parseTagged(raw,
		fields("Sequence", func(s struct {
			Normalizers []json.RawMessage `json:"normalizers"`
		}) (normalizer, error) {
			seq, err := parseMembers(s.Normalizers, "normalizers", parseNormalizer)
			if err != nil {
				return nil, err
			}
			return sequenceNormalizer(seq), nil
		}),
		fields("BertNormalizer", func(c struct {
			CleanText          *bool `json:"clean_text"`
			HandleChineseChars *bool `json:"handle_chinese_chars"`
			StripAccents       *bool `json:"strip_accents"`
			Lowercase          *bool `json:"lowercase"`
		}) (normalizer, error) {
			def := func(b *bool) bool { return b == nil || *b }
			return newBertNormalizer(BertNormalizerConfig{
				CleanText: def(c.CleanText), HandleChineseChars: def(c.HandleChineseChars),
				StripAccents: c.StripAccents, Lowercase: def(c.Lowercase),
			}), nil
		}),
		constant[normalizer]("Lowercase", lowercaseNormalizer{}),
		fields("Strip", func(c struct {
			Left  *bool `json:"strip_left"`
			Right *bool `json:"strip_right"`
		}) (normalizer, error) {
			return stripNormalizer{left: c.Left == nil || *c.Left, right: c.Right == nil || *c.Right}, nil
		}),
		fields("Precompiled", func(c struct {
			Charsmap *string `json:"precompiled_charsmap"`
		}) (normalizer, error) {
			if c.Charsmap == nil {
				return nil, fmt.Errorf("Precompiled.precompiled_charsmap: missing")
			}
			b, err := base64.StdEncoding.DecodeString(*c.Charsmap)
			if err != nil {
				return nil, fmt.Errorf("Precompiled.precompiled_charsmap: %w", err)
			}
			if len(b) == 0 {
				return sequenceNormalizer{}, nil
			}
			p, err := newPrecompiled(b)
			if err != nil {
				return nil, fmt.Errorf("Precompiled: %w", err)
			}
			return p, nil
		}),
		fields("Replace", func(c struct {
			Pattern struct {
				String *string `json:"String"`
				Regex  *string `json:"Regex"`
			} `json:"pattern"`
			Content *string `json:"content"`
		}) (normalizer, error) {
			if c.Content == nil {
				return nil, fmt.Errorf("Replace.content: missing")
			}
			return newReplace(c.Pattern.String, c.Pattern.Regex, *c.Content)
		}),
	)
}

func parsePreTokenizer(raw json.RawMessage) (preTokenizer, error) {
	return parseTagged(raw,
		fields("Sequence", func(s struct {
			P []json.RawMessage `json:"pretokenizers"`
		}) (preTokenizer, error) {
			seq, err := parseMembers(s.P, "pretokenizers", parsePreTokenizer)
			if err != nil {
				return nil, err
			}
			if len(seq) == 1 {
				return seq[0], nil
			}
			return sequencePreTokenizer(seq), nil
		}),
		constant[preTokenizer]("BertPreTokenizer", bertPreTokenizer{}),
		constant[preTokenizer]("WhitespaceSplit", whitespaceSplit{}),
		fields("Metaspace", func(c struct {
			Replacement    *string `json:"replacement"`
			PrependScheme  *string `json:"prepend_scheme"`
			AddPrefixSpace *bool   `json:"add_prefix_space"`
			Split          *bool   `json:"split"`
		}) (preTokenizer, error) {
			m := &metaspace{repl: "\u2581", split: c.Split == nil || *c.Split}
			if c.Replacement != nil {
				if len([]rune(*c.Replacement)) != 1 {
					return nil, fmt.Errorf("Metaspace.replacement %q: want exactly one char", *c.Replacement)
				}
				m.repl = *c.Replacement
			}
			switch {
			case c.PrependScheme != nil:
				s, err := parsePrependScheme(*c.PrependScheme)
				if err != nil {
					return nil, fmt.Errorf("Metaspace.%w", err)
				}
				m.scheme = s
			case c.AddPrefixSpace != nil && !*c.AddPrefixSpace:
				m.scheme = PrependNever
			}
			return m, nil
		}),
	)
}

func parsePostProcessor(raw json.RawMessage) (*template, error) {
	return parseTagged(raw,
		fields("TemplateProcessing", func(c struct {
			Single   []map[string]json.RawMessage `json:"single"`
			Pair     []map[string]json.RawMessage `json:"pair"`
			Specials map[string]struct {
				ID     string   `json:"id"`
				IDs    []int32  `json:"ids"`
				Tokens []string `json:"tokens"`
			} `json:"special_tokens"`
		}) (*template, error) {
			t := &template{specials: make(map[string]specialEntry)}
			for k, v := range c.Specials {
				if len(v.IDs) != len(v.Tokens) {
					return nil, fmt.Errorf("TemplateProcessing.special_tokens[%q]: %d ids but %d tokens", k, len(v.IDs), len(v.Tokens))
				}
				t.specials[k] = specialEntry{ids: v.IDs, tokens: v.Tokens}
			}
			var err error
			if t.single, err = parseTemplate(c.Single); err != nil {
				return nil, fmt.Errorf("TemplateProcessing.single%w", err)
			}
			if t.pair, err = parseTemplate(c.Pair); err != nil {
				return nil, fmt.Errorf("TemplateProcessing.pair%w", err)
			}
			return t, t.validate()
		}),
		fields("BertProcessing", func(c struct {
			Sep []json.RawMessage `json:"sep"`
			Cls []json.RawMessage `json:"cls"`
		}) (*template, error) {
			if len(c.Sep) != 2 || len(c.Cls) != 2 {
				return nil, fmt.Errorf("BertProcessing.sep/cls: want [token, id]")
			}
			var sep, cls string
			var sepID, clsID int32
			for _, x := range []struct {
				r json.RawMessage
				v any
			}{{c.Sep[0], &sep}, {c.Sep[1], &sepID}, {c.Cls[0], &cls}, {c.Cls[1], &clsID}} {
				if err := json.Unmarshal(x.r, x.v); err != nil {
					return nil, fmt.Errorf("BertProcessing.sep/cls: %w", err)
				}
			}
			return bertTemplate(cls, clsID, sep, sepID), nil
		}),
	)
}

func parseTemplate(items []map[string]json.RawMessage) ([]templateItem, error) {
	var out []templateItem
	for i, it := range items {
		var x struct {
			ID     string `json:"id"`
			TypeID int32  `json:"type_id"`
		}
		if r, ok := it["SpecialToken"]; ok {
			if err := json.Unmarshal(r, &x); err != nil {
				return nil, fmt.Errorf("[%d].SpecialToken: %w", i, err)
			}
			if x.ID == "" {
				return nil, fmt.Errorf("[%d].SpecialToken.id: missing", i)
			}
			out = append(out, templateItem{Special: x.ID, TypeID: x.TypeID})
			continue
		}
		if r, ok := it["Sequence"]; ok {
			if err := json.Unmarshal(r, &x); err != nil {
				return nil, fmt.Errorf("[%d].Sequence: %w", i, err)
			}
			seq := 0
			switch x.ID {
			case "A":
			case "B":
				seq = 1
			default:
				return nil, fmt.Errorf("[%d].Sequence.id %q: want A or B", i, x.ID)
			}
			out = append(out, templateItem{Seq: seq, TypeID: x.TypeID})
			continue
		}
		return nil, fmt.Errorf("[%d]: want SpecialToken or Sequence", i)
	}
	return out, nil
}
