package corpus

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"
)

// Writer writes sentences in the format Reader reads: `text<TAB>tag` plus
// any Extra columns, a blank line after each sentence, and a
// `-DOCSTART-<TAB>O` line (followed by a blank line) each time Sentence.Doc
// increases, so documents survive a read/write round trip.
type Writer struct {
	bw  *bufio.Writer
	doc int
	n   int
}

// NewWriter returns a Writer to w; call Flush when done.
func NewWriter(w io.Writer) *Writer { return &Writer{bw: bufio.NewWriterSize(w, 64<<10)} }

// Write writes one sentence. Fields that could not be read back unchanged
// (empty, containing a tab or line break, surrounded by spaces, a token equal
// to -DOCSTART-, an invalid tag) are an error naming sentence and token.
func (w *Writer) Write(s Sentence) error {
	w.n++
	if len(s.Tokens) == 0 {
		return fmt.Errorf("corpus: write sentence %d: no tokens", w.n)
	}
	for i, t := range s.Tokens {
		if err := checkField(t.Text); err != nil {
			return fmt.Errorf("corpus: write sentence %d token %d text: %w", w.n, i+1, err)
		}
		if t.Text == DocStart {
			return fmt.Errorf("corpus: write sentence %d token %d: the token %s would read back as a document separator", w.n, i+1, DocStart)
		}
		if !validTag(t.Tag) || checkField(t.Tag) != nil {
			return fmt.Errorf("corpus: write sentence %d token %d: invalid tag %q", w.n, i+1, t.Tag)
		}
		for j, e := range t.Extra {
			if err := checkField(e); err != nil {
				return fmt.Errorf("corpus: write sentence %d token %d extra column %d: %w", w.n, i+1, j+1, err)
			}
		}
	}
	for ; w.doc < s.Doc; w.doc++ {
		w.bw.WriteString(DocStart + "\tO\n\n")
	}
	for _, t := range s.Tokens {
		w.bw.WriteString(t.Text)
		w.bw.WriteByte('\t')
		w.bw.WriteString(t.Tag)
		for _, e := range t.Extra {
			w.bw.WriteByte('\t')
			w.bw.WriteString(e)
		}
		w.bw.WriteByte('\n')
	}
	_, err := w.bw.WriteString("\n")
	return err
}

// Flush writes buffered data to the underlying writer.
func (w *Writer) Flush() error { return w.bw.Flush() }

func checkField(f string) error {
	switch {
	case f == "":
		return fmt.Errorf("empty")
	case !utf8.ValidString(f):
		return fmt.Errorf("%q is not valid UTF-8", f)
	case strings.ContainsAny(f, "\t\n\r"):
		return fmt.Errorf("%q contains a tab or line break", f)
	case strings.Trim(f, " \v\f") != f:
		return fmt.Errorf("%q has leading or trailing spaces", f)
	case strings.HasPrefix(f, "\ufeff"):
		return fmt.Errorf("%q starts with a byte-order mark", f)
	}
	return nil
}

// Write writes sentences to w (see Writer).
func Write(w io.Writer, sentences []Sentence) error {
	cw := NewWriter(w)
	for _, s := range sentences {
		if err := cw.Write(s); err != nil {
			return err
		}
	}
	return cw.Flush()
}

// WriteFile writes sentences to path atomically (a temporary file in the same
// directory renamed into place).
func WriteFile(path string, sentences []Sentence) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("corpus: %w", err)
	}
	tmp := f.Name()
	if err := Write(f, sentences); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	// CreateTemp makes the file 0600; outputs are 0644 like every other
	// file openmed writes. Synced before the rename.
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("corpus: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("corpus: %w", err)
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("corpus: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("corpus: %w", err)
	}
	return nil
}
