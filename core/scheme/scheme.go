package scheme

import (
	"fmt"
	"strings"
)

// Scheme is a chunk tagging scheme. The names follow Tjong Kim Sang & Veenstra
// (1999, "Representing Text Chunks") and seqeval's scheme classes.
type Scheme int

const (
	// IOB1 marks B-X only on the first token of a chunk that immediately
	// follows another chunk of the same type; every other chunk token is I-X.
	IOB1 Scheme = iota + 1
	// IOB2 (BIO) marks the first token of every chunk B-X and the rest I-X.
	// It is the scheme of every corpus in ../shared/data and of the paper's
	// token-classification head.
	IOB2
	// IOE1 marks E-X only on the last token of a chunk that immediately
	// precedes another chunk of the same type; every other chunk token is I-X.
	IOE1
	// IOE2 (IOE) marks the last token of every chunk E-X and the rest I-X.
	IOE2
	// IOBES marks single-token chunks S-X and longer chunks B-X I-X... E-X.
	IOBES
	// BILOU is IOBES with U (unit) for S and L (last) for E.
	BILOU
)

// Schemes lists every supported scheme in declaration order.
var Schemes = []Scheme{IOB1, IOB2, IOE1, IOE2, IOBES, BILOU}

// String returns the scheme's canonical name ("IOB2", "BILOU", ...).
func (s Scheme) String() string {
	switch s {
	case IOB1:
		return "IOB1"
	case IOB2:
		return "IOB2"
	case IOE1:
		return "IOE1"
	case IOE2:
		return "IOE2"
	case IOBES:
		return "IOBES"
	case BILOU:
		return "BILOU"
	}
	return fmt.Sprintf("Scheme(%d)", int(s))
}

// Valid reports whether s is one of the declared schemes.
func (s Scheme) Valid() bool { return s >= IOB1 && s <= BILOU }

// ParseScheme parses a scheme name, case-insensitively. Besides the canonical
// names it accepts the common aliases BIO (IOB2), IOE (IOE2), BIOES and BMES
// (IOBES) and BILUO (BILOU).
func ParseScheme(name string) (Scheme, error) {
	switch strings.ToUpper(strings.TrimSpace(name)) {
	case "IOB1":
		return IOB1, nil
	case "IOB2", "BIO", "IOB":
		return IOB2, nil
	case "IOE1":
		return IOE1, nil
	case "IOE2", "IOE":
		return IOE2, nil
	case "IOBES", "BIOES", "BMES":
		return IOBES, nil
	case "BILOU", "BILUO":
		return BILOU, nil
	}
	return 0, fmt.Errorf("scheme: unknown tag scheme %q (want IOB1, IOB2, IOE1, IOE2, IOBES or BILOU)", name)
}

// MarshalText implements encoding.TextMarshaler (JSON uses the name).
func (s Scheme) MarshalText() ([]byte, error) {
	if !s.Valid() {
		return nil, fmt.Errorf("scheme: invalid scheme %d", int(s))
	}
	return []byte(s.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler via ParseScheme.
func (s *Scheme) UnmarshalText(b []byte) error {
	v, err := ParseScheme(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// Mode selects how tag sequences are decoded into entities, as seqeval's
// `mode` argument does.
type Mode int

const (
	// Default is seqeval's default (mode=None) behaviour: get_entities, the
	// lenient conlleval-style decoding that ignores the scheme.
	Default Mode = iota
	// Strict is seqeval's mode='strict': entities must follow the scheme's
	// transition patterns exactly; anything else is dropped.
	Strict
)

// String returns "default" or "strict".
func (m Mode) String() string {
	switch m {
	case Default:
		return "default"
	case Strict:
		return "strict"
	}
	return fmt.Sprintf("Mode(%d)", int(m))
}

// ParseMode parses "default" (or "lenient", "conlleval") and "strict".
func ParseMode(name string) (Mode, error) {
	switch strings.ToLower(strings.TrimSpace(name)) {
	case "default", "lenient", "conlleval", "":
		return Default, nil
	case "strict":
		return Strict, nil
	}
	return 0, fmt.Errorf("scheme: unknown evaluation mode %q (want default or strict)", name)
}

// MarshalText implements encoding.TextMarshaler.
func (m Mode) MarshalText() ([]byte, error) { return []byte(m.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler via ParseMode.
func (m *Mode) UnmarshalText(b []byte) error {
	v, err := ParseMode(string(b))
	if err != nil {
		return err
	}
	*m = v
	return nil
}
