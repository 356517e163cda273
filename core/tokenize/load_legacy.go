package tokenize

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"

	"google.golang.org/protobuf/encoding/protowire"
)

// Options are the tokenizer_config.json fields transformers' converters use
// when they build a fast tokenizer from legacy files. Nil pointers and empty
// strings take the family defaults (BertTokenizer: do_lower_case true,
// tokenize_chinese_chars true, strip_accents None; DebertaV2Tokenizer:
// do_lower_case false; tokens [CLS] [SEP] [PAD] [MASK] [UNK]).
type Options struct {
	DoLowerCase          *bool   `json:"do_lower_case"`
	StripAccents         *bool   `json:"strip_accents"`
	TokenizeChineseChars *bool   `json:"tokenize_chinese_chars"`
	SplitByPunct         bool    `json:"split_by_punct"`
	UnkToken             tokenAt `json:"unk_token"`
	ClsToken             tokenAt `json:"cls_token"`
	SepToken             tokenAt `json:"sep_token"`
	PadToken             tokenAt `json:"pad_token"`
	MaskToken            tokenAt `json:"mask_token"`
}

// tokenAt accepts a special token written as a string or as an AddedToken
// object ({"content": ...}) in tokenizer_config.json.
type tokenAt string

// UnmarshalJSON implements json.Unmarshaler.
func (t *tokenAt) UnmarshalJSON(b []byte) error {
	if bytes.Equal(bytes.TrimSpace(b), []byte("null")) {
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*t = tokenAt(s)
		return nil
	}
	var o struct {
		Content string `json:"content"`
	}
	if err := json.Unmarshal(b, &o); err != nil {
		return err
	}
	*t = tokenAt(o.Content)
	return nil
}

func or(s tokenAt, def string) string {
	if s == "" {
		return def
	}
	return string(s)
}

// ReadTokenizerConfig reads the converter-relevant fields of a
// tokenizer_config.json.
func ReadTokenizerConfig(path string) (Options, error) {
	var o Options
	data, err := os.ReadFile(path)
	if err != nil {
		return o, fmt.Errorf("tokenize: %w", err)
	}
	if err := json.Unmarshal(data, &o); err != nil {
		return o, fmt.Errorf("tokenize: %s: %w", path, err)
	}
	return o, nil
}

// FromVocab builds a WordPiece tokenizer from a BERT vocab.txt the way
// transformers' BertConverter does: one token per line (id = line number,
// trailing "\n" removed, a later duplicate wins), BertNormalizer(clean_text,
// handle_chinese_chars, strip_accents, lowercase=do_lower_case),
// BertPreTokenizer, WordPiece(unk [UNK], "##", 100 chars), template
// "[CLS] $A [SEP]" / "[CLS] $A [SEP] $B:1 [SEP]:1", and the five special
// tokens as non-normalized added tokens.
func FromVocab(vocabPath string, o Options) (*Tokenizer, error) {
	data, err := os.ReadFile(vocabPath)
	if err != nil {
		return nil, fmt.Errorf("tokenize: %w", err)
	}
	vocab := make(map[string]int32)
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 1<<16), 1<<24)
	line := int32(0)
	for sc.Scan() {
		vocab[sc.Text()] = line
		line++
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("tokenize: %s:%d: %w", vocabPath, line+1, err)
	}
	lower := o.DoLowerCase == nil || *o.DoLowerCase
	chinese := o.TokenizeChineseChars == nil || *o.TokenizeChineseChars
	unk, cls, sep, pad, mask := or(o.UnkToken, "[UNK]"), or(o.ClsToken, "[CLS]"), or(o.SepToken, "[SEP]"), or(o.PadToken, "[PAD]"), or(o.MaskToken, "[MASK]")
	wp, err := newWordPiece(vocab, unk, "##", 100)
	if err != nil {
		return nil, fmt.Errorf("tokenize: %s: %w", vocabPath, err)
	}
	t := &Tokenizer{
		model:      wp,
		normalizer: newBertNormalizer(BertNormalizerConfig{CleanText: true, HandleChineseChars: chinese, StripAccents: o.StripAccents, Lowercase: lower}),
		pre:        bertPreTokenizer{},
	}
	for _, name := range []string{cls, sep} {
		if _, ok := vocab[name]; !ok {
			return nil, fmt.Errorf("tokenize: %s: special token %q is not in the vocabulary", vocabPath, name)
		}
	}
	t.post = bertTemplate(cls, vocab[cls], sep, vocab[sep])
	t.added = specialAdded(vocab, int32(len(vocab)), pad, unk, cls, sep, mask)
	if err := t.finish(); err != nil {
		return nil, fmt.Errorf("tokenize: %s: %w", vocabPath, err)
	}
	return t, nil
}

// specialAdded returns the special tokens as HF added tokens sorted by id;
// tokens missing from the vocabulary get the next free ids.
func specialAdded(vocab map[string]int32, next int32, names ...string) []AddedToken {
	var out []AddedToken
	seen := map[string]bool{}
	for _, n := range names {
		if seen[n] {
			continue
		}
		seen[n] = true
		id, ok := vocab[n]
		if !ok {
			id = next
			next++
		}
		out = append(out, AddedToken{ID: id, Content: n, Special: true})
	}
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j].ID < out[j-1].ID; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// spmModel is the part of SentencePiece's ModelProto the converter reads.
type spmModel struct {
	pieces         []string
	scores         []float64
	types          []int
	unkID          int
	modelType      int
	charsmap       []byte
	addDummyPrefix bool
}

// parseSPM decodes a SentencePiece ModelProto (sentencepiece_model.proto):
// pieces (1: piece, 2: score, 3: type), trainer_spec (3: model_type,
// 40: unk_id) and normalizer_spec (2: precompiled_charsmap,
// 3: add_dummy_prefix).
func parseSPM(b []byte) (*spmModel, error) {
	m := &spmModel{addDummyPrefix: true, modelType: 1}
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return nil, fmt.Errorf("ModelProto: bad tag: %w", protowire.ParseError(n))
		}
		b = b[n:]
		if typ != protowire.BytesType || num > 3 {
			n = protowire.ConsumeFieldValue(num, typ, b)
			if n < 0 {
				return nil, fmt.Errorf("ModelProto field %d: %w", num, protowire.ParseError(n))
			}
			b = b[n:]
			continue
		}
		v, n := protowire.ConsumeBytes(b)
		if n < 0 {
			return nil, fmt.Errorf("ModelProto field %d: %w", num, protowire.ParseError(n))
		}
		b = b[n:]
		var err error
		switch num {
		case 1:
			err = m.parsePiece(v)
		case 2:
			err = m.parseTrainer(v)
		case 3:
			err = m.parseNormalizer(v)
		}
		if err != nil {
			return nil, err
		}
	}
	if len(m.pieces) == 0 {
		return nil, fmt.Errorf("ModelProto.pieces: empty")
	}
	if m.unkID < 0 || m.unkID >= len(m.pieces) {
		return nil, fmt.Errorf("ModelProto.trainer_spec.unk_id %d: outside the %d pieces", m.unkID, len(m.pieces))
	}
	return m, nil
}

func (m *spmModel) parsePiece(b []byte) error {
	i := len(m.pieces)
	piece, score, typ := "", float32(0), 1
	for len(b) > 0 {
		num, wt, n := protowire.ConsumeTag(b)
		if n < 0 {
			return fmt.Errorf("ModelProto.pieces[%d]: bad tag", i)
		}
		b = b[n:]
		switch {
		case num == 1 && wt == protowire.BytesType:
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return fmt.Errorf("ModelProto.pieces[%d].piece: %w", i, protowire.ParseError(n))
			}
			piece, b = string(v), b[n:]
		case num == 2 && wt == protowire.Fixed32Type:
			v, n := protowire.ConsumeFixed32(b)
			if n < 0 {
				return fmt.Errorf("ModelProto.pieces[%d].score: %w", i, protowire.ParseError(n))
			}
			score, b = math.Float32frombits(v), b[n:]
		case num == 3 && wt == protowire.VarintType:
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return fmt.Errorf("ModelProto.pieces[%d].type: %w", i, protowire.ParseError(n))
			}
			typ, b = int(v), b[n:]
		default:
			n := protowire.ConsumeFieldValue(num, wt, b)
			if n < 0 {
				return fmt.Errorf("ModelProto.pieces[%d] field %d: %w", i, num, protowire.ParseError(n))
			}
			b = b[n:]
		}
	}
	m.pieces = append(m.pieces, piece)
	m.scores = append(m.scores, float64(score))
	m.types = append(m.types, typ)
	return nil
}

func (m *spmModel) parseTrainer(b []byte) error {
	for len(b) > 0 {
		num, wt, n := protowire.ConsumeTag(b)
		if n < 0 {
			return fmt.Errorf("ModelProto.trainer_spec: bad tag")
		}
		b = b[n:]
		if wt == protowire.VarintType && (num == 3 || num == 40) {
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return fmt.Errorf("ModelProto.trainer_spec field %d: %w", num, protowire.ParseError(n))
			}
			b = b[n:]
			if num == 3 {
				m.modelType = int(int32(v))
			} else {
				m.unkID = int(int32(v))
			}
			continue
		}
		n = protowire.ConsumeFieldValue(num, wt, b)
		if n < 0 {
			return fmt.Errorf("ModelProto.trainer_spec field %d: %w", num, protowire.ParseError(n))
		}
		b = b[n:]
	}
	return nil
}

func (m *spmModel) parseNormalizer(b []byte) error {
	for len(b) > 0 {
		num, wt, n := protowire.ConsumeTag(b)
		if n < 0 {
			return fmt.Errorf("ModelProto.normalizer_spec: bad tag")
		}
		b = b[n:]
		switch {
		case num == 2 && wt == protowire.BytesType:
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return fmt.Errorf("ModelProto.normalizer_spec.precompiled_charsmap: %w", protowire.ParseError(n))
			}
			m.charsmap, b = append([]byte(nil), v...), b[n:]
		case num == 3 && wt == protowire.VarintType:
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return fmt.Errorf("ModelProto.normalizer_spec.add_dummy_prefix: %w", protowire.ParseError(n))
			}
			m.addDummyPrefix, b = v != 0, b[n:]
		default:
			n := protowire.ConsumeFieldValue(num, wt, b)
			if n < 0 {
				return fmt.Errorf("ModelProto.normalizer_spec field %d: %w", num, protowire.ParseError(n))
			}
			b = b[n:]
		}
	}
	return nil
}

// FromSPM builds a Unigram tokenizer from a SentencePiece spm.model the way
// transformers' DebertaV2Converter does: Unigram(pieces, unk_id,
// byte_fallback=false); normalizers [Lowercase if do_lower_case], Strip,
// Precompiled(charsmap), Replace(/ {2,}/, " "); Metaspace(▁, prepend
// always if add_dummy_prefix else never, split); template
// "[CLS] $A [SEP]" / "[CLS] $A [SEP] $B:1 [SEP]:1"; special tokens
// [PAD] [CLS] [SEP] [UNK] [MASK] ([MASK] appended after the pieces when the
// model lacks it).
func FromSPM(path string, o Options) (*Tokenizer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tokenize: %w", err)
	}
	t, err := parseSPMTokenizer(data, o)
	if err != nil {
		return nil, fmt.Errorf("tokenize: %s: %w", path, err)
	}
	return t, nil
}

func parseSPMTokenizer(data []byte, o Options) (*Tokenizer, error) {
	m, err := parseSPM(data)
	if err != nil {
		return nil, err
	}
	if m.modelType != 1 {
		return nil, fmt.Errorf("ModelProto.trainer_spec.model_type %d: only UNIGRAM (1) is supported", m.modelType)
	}
	unk := m.unkID
	model, err := newUnigram(m.pieces, m.scores, &unk, false)
	if err != nil {
		return nil, err
	}
	var seq sequenceNormalizer
	if o.DoLowerCase != nil && *o.DoLowerCase {
		seq = append(seq, lowercaseNormalizer{})
	}
	seq = append(seq, stripNormalizer{left: true, right: true})
	if len(m.charsmap) > 0 {
		p, err := newPrecompiled(m.charsmap)
		if err != nil {
			return nil, fmt.Errorf("ModelProto.normalizer_spec.%w", err)
		}
		seq = append(seq, p)
	}
	re := " {2,}"
	rep, _ := newReplace(nil, &re, " ")
	seq = append(seq, rep)
	ms := &metaspace{repl: "\u2581", split: true, scheme: PrependAlways}
	if !m.addDummyPrefix {
		ms.scheme = PrependNever
	}
	t := &Tokenizer{model: model, normalizer: seq, pre: ms}
	if o.SplitByPunct {
		return nil, fmt.Errorf("split_by_punct: not supported")
	}
	ids := make(map[string]int32, len(m.pieces))
	for i, p := range m.pieces {
		ids[p] = int32(i)
	}
	cls, sep := or(o.ClsToken, "[CLS]"), or(o.SepToken, "[SEP]")
	for _, name := range []string{cls, sep} {
		if _, ok := ids[name]; !ok {
			return nil, fmt.Errorf("special token %q is not a piece of the model", name)
		}
	}
	t.post = bertTemplate(cls, ids[cls], sep, ids[sep])
	t.added = specialAdded(ids, int32(len(m.pieces)), or(o.PadToken, "[PAD]"), cls, sep, or(o.UnkToken, "[UNK]"), or(o.MaskToken, "[MASK]"))
	if err := t.finish(); err != nil {
		return nil, err
	}
	return t, nil
}

// LoadOption configures Load.
type LoadOption func(*loadConfig)

type loadConfig struct {
	opts *Options
}

// WithOptions overrides tokenizer_config.json when Load builds a tokenizer
// from vocab.txt or spm.model.
func WithOptions(o Options) LoadOption { return func(c *loadConfig) { c.opts = &o } }

// Load opens a tokenizer from a file or a model/tokenizer folder: a folder
// uses tokenizer.json if present, else vocab.txt (WordPiece) or spm.model
// (Unigram) with tokenizer_config.json; a file is read by its name
// (*.json = tokenizer.json, *.txt = vocab.txt, *.model = SentencePiece).
func Load(pathOrDir string, opts ...LoadOption) (*Tokenizer, error) {
	var c loadConfig
	for _, o := range opts {
		o(&c)
	}
	st, err := os.Stat(pathOrDir)
	if err != nil {
		return nil, fmt.Errorf("tokenize: %w", err)
	}
	dir, file := pathOrDir, ""
	if !st.IsDir() {
		dir, file = filepath.Dir(pathOrDir), pathOrDir
	} else {
		for _, name := range ModelFiles {
			p := filepath.Join(dir, name)
			if _, err := os.Stat(p); err == nil {
				file = p
				break
			}
		}
		if file == "" {
			return nil, fmt.Errorf("tokenize: %s has none of %v", dir, ModelFiles)
		}
	}
	options := func() (Options, error) {
		if c.opts != nil {
			return *c.opts, nil
		}
		p := filepath.Join(dir, "tokenizer_config.json")
		if _, err := os.Stat(p); err != nil {
			return Options{}, nil
		}
		return ReadTokenizerConfig(p)
	}
	switch ext := filepath.Ext(file); ext {
	case ".json":
		return FromTokenizerJSON(file)
	case ".txt":
		o, err := options()
		if err != nil {
			return nil, err
		}
		return FromVocab(file, o)
	case ".model":
		o, err := options()
		if err != nil {
			return nil, err
		}
		return FromSPM(file, o)
	default:
		return nil, fmt.Errorf("tokenize: %s: unknown tokenizer file type %q (want .json, .txt or .model)", file, ext)
	}
}
