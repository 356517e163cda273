package tagger

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// Format is an output format of tagged documents.
type Format int

const (
	// FormatJSON is one JSON object {"text", "entities"} per document (an
	// array when there are several).
	FormatJSON Format = iota
	// FormatJSONL is one {"text", "entities"} object per line, one line per
	// input document.
	FormatJSONL
	// FormatCoNLL is one word per line with its predicted IOB2 tag
	// ("word<TAB>tag"), a blank line after each document.
	FormatCoNLL
	// FormatBrat is brat standoff (.ann): "T1<TAB>Label start end<TAB>text"
	// with code-point offsets, as brat counts characters.
	FormatBrat
)

// String is the CLI spelling.
func (f Format) String() string {
	switch f {
	case FormatJSON:
		return "json"
	case FormatJSONL:
		return "jsonl"
	case FormatCoNLL:
		return "conll"
	case FormatBrat:
		return "brat"
	}
	return fmt.Sprintf("Format(%d)", int(f))
}

// ParseFormat reads json, jsonl, conll or brat.
func ParseFormat(s string) (Format, error) {
	for f := FormatJSON; f <= FormatBrat; f++ {
		if f.String() == s {
			return f, nil
		}
	}
	return FormatJSON, fmt.Errorf("tagger: unknown format %q (want json, jsonl, conll or brat)", s)
}

// Document is one tagged text as the json / jsonl formats write it.
type Document struct {
	Text     string   `json:"text"`
	Entities []Entity `json:"entities"`
}

// ReadJSONL reads one document per line: a JSON object with a "text" field,
// or (when the line does not start with "{") the line itself as plain text.
// Errors name the line.
func ReadJSONL(r io.Reader, name string) ([]string, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<28)
	var out []string
	for line := 1; sc.Scan(); line++ {
		s := sc.Text()
		if strings.HasPrefix(strings.TrimSpace(s), "{") {
			var d struct {
				Text *string `json:"text"`
			}
			if err := json.Unmarshal([]byte(s), &d); err != nil {
				return nil, fmt.Errorf("%s:%d: %w", name, line, err)
			}
			if d.Text == nil {
				return nil, fmt.Errorf("%s:%d: JSON object has no \"text\" field", name, line)
			}
			s = *d.Text
		}
		out = append(out, s)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return out, nil
}

// WriteJSONL writes one {"text","entities"} line per document.
func WriteJSONL(w io.Writer, docs []Document) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for _, d := range docs {
		if err := enc.Encode(d); err != nil {
			return err
		}
	}
	return nil
}

// WriteBrat writes brat standoff annotations for one document: one
// text-bound annotation per entity, numbered from T1, with code-point
// offsets. Newlines inside an entity's text are written as spaces, as brat
// requires one annotation per line.
func WriteBrat(w io.Writer, ents []Entity) error {
	for i, e := range ents {
		text := strings.NewReplacer("\n", " ", "\r", " ", "\t", " ").Replace(e.Text)
		if _, err := fmt.Fprintf(w, "T%d\t%s %d %d\t%s\n", i+1, strings.ReplaceAll(e.Label, " ", "_"), e.Start, e.End, text); err != nil {
			return err
		}
	}
	return nil
}

// WriteCoNLL writes one document's words with their tags and a blank line.
func WriteCoNLL(w io.Writer, toks []Token) error {
	for _, t := range toks {
		if _, err := fmt.Fprintf(w, "%s\t%s\n", t.Text, t.Tag); err != nil {
			return err
		}
	}
	_, err := fmt.Fprintln(w)
	return err
}
