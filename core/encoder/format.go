package encoder

import (
	"fmt"
	"strings"
)

// Format is the on-disk shape of a release to import.
type Format int

const (
	// FormatTF is a TensorFlow tensor bundle: Google's BERT layout
	// (bert_model.ckpt.{index,data-*} + bert_config.json + vocab.txt) or a
	// SavedModel directory (variables/ + assets/vocab.txt).
	FormatTF Format = iota + 1
	// FormatONNX is a transformers/optimum-style fp32 ONNX export of a
	// BERT-family encoder with its tokenizer.json.
	FormatONNX
	// FormatHF is a Hugging Face or sentence-transformers folder (weights at
	// the root or under 0_Transformer/; safetensors or pytorch_model.bin).
	FormatHF
)

// String is the flag spelling of the format.
func (f Format) String() string {
	switch f {
	case FormatTF:
		return "tf"
	case FormatONNX:
		return "onnx"
	case FormatHF:
		return "hf"
	}
	return fmt.Sprintf("Format(%d)", int(f))
}

// ParseFormat reads "tf", "onnx" or "hf".
func ParseFormat(s string) (Format, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "tf", "tensorflow":
		return FormatTF, nil
	case "onnx":
		return FormatONNX, nil
	case "hf", "huggingface", "sentence-transformers":
		return FormatHF, nil
	}
	return 0, fmt.Errorf("encoder: unknown format %q (want tf, onnx or hf)", s)
}

// MarshalText implements encoding.TextMarshaler.
func (f Format) MarshalText() ([]byte, error) { return []byte(f.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (f *Format) UnmarshalText(b []byte) error {
	v, err := ParseFormat(string(b))
	if err != nil {
		return err
	}
	*f = v
	return nil
}

// Casing says whether an encoder's tokenizer lower-cases its input.
type Casing int

const (
	// CasingAuto decides from the release (its tokenizer config, a
	// TF-Hub model.json, "uncased" in its name, or a vocabulary without
	// upper-case tokens).
	CasingAuto Casing = iota
	// CasingLower lower-cases and strips accents (BERT uncased).
	CasingLower
	// CasingCased keeps the text as it is.
	CasingCased
)

// String is the flag spelling of the casing.
func (c Casing) String() string {
	switch c {
	case CasingLower:
		return "uncased"
	case CasingCased:
		return "cased"
	}
	return "auto"
}

// MarshalText implements encoding.TextMarshaler.
func (c Casing) MarshalText() ([]byte, error) { return []byte(c.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler ("auto", "uncased" or
// "lower", "cased").
func (c *Casing) UnmarshalText(b []byte) error {
	switch strings.ToLower(strings.TrimSpace(string(b))) {
	case "", "auto":
		*c = CasingAuto
	case "uncased", "lower", "lowercase":
		*c = CasingLower
	case "cased":
		*c = CasingCased
	default:
		return fmt.Errorf("encoder: unknown casing %q (want auto, uncased or cased)", b)
	}
	return nil
}
