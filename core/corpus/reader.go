package corpus

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"iter"
	"os"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxLineBytes bounds one line; longer lines are an error rather than an
// unbounded allocation.
const MaxLineBytes = 1 << 24

// Option configures a Reader.
type Option func(*config)

type config struct {
	tagColumn int
}

// WithTagColumn sets the 0-based column that holds the tag; negative values
// count from the end (-1 is the last column, as in CoNLL-2003 files whose
// NER tag follows POS and chunk columns). The default is 1: `token<TAB>tag`,
// the layout of ../shared/data. Column 0 is always the token; every other
// column is kept in Token.Extra in file order.
func WithTagColumn(col int) Option { return func(c *config) { c.tagColumn = col } }

// Reader streams sentences from a CoNLL file. It accepts LF and CRLF line
// ends, a missing final newline, trailing whitespace and a UTF-8 byte-order
// mark. Columns are tab-separated when a line has a tab, otherwise separated
// by runs of spaces.
type Reader struct {
	br     *bufio.Reader
	name   string
	cfg    config
	line   int   // number of the last line read
	doc    int   // -DOCSTART- lines seen so far
	err    error // sticky error (io.EOF at the end)
	tags   map[string]string
	buf    []byte
	fields []string // scratch for splitting a line
}

// NewReader returns a Reader over r; name is used in error messages
// (usually the file path).
func NewReader(r io.Reader, name string, opts ...Option) *Reader {
	cfg := config{tagColumn: 1}
	for _, o := range opts {
		o(&cfg)
	}
	return &Reader{br: bufio.NewReaderSize(r, 64<<10), name: name, cfg: cfg, tags: map[string]string{}}
}

// Docs is the number of -DOCSTART- lines read so far.
func (r *Reader) Docs() int { return r.doc }

// Line is the number of the last line read.
func (r *Reader) Line() int { return r.line }

// Next returns the next sentence, or io.EOF after the last one. Any other
// error is a *ParseError naming the file and line; after an error Next keeps
// returning it.
func (r *Reader) Next() (Sentence, error) {
	if r.err != nil {
		return Sentence{}, r.err
	}
	var s Sentence
	for {
		line, err := r.readLine()
		if err != nil {
			if err == io.EOF && len(s.Tokens) > 0 {
				return s, nil
			}
			r.err = err
			return Sentence{}, err
		}
		if len(line) == 0 {
			if len(s.Tokens) > 0 {
				return s, nil
			}
			continue
		}
		tok, isDocStart, err := r.parseLine(line)
		if err != nil {
			r.err = err
			return Sentence{}, err
		}
		if isDocStart {
			r.doc++
			if len(s.Tokens) > 0 {
				return s, nil
			}
			continue
		}
		if len(s.Tokens) == 0 {
			s.Line = r.line
			s.Doc = r.doc
		}
		s.Tokens = append(s.Tokens, tok)
	}
}

// All iterates over the remaining sentences; iteration stops after the first
// error, which is yielded with a zero Sentence.
func (r *Reader) All() iter.Seq2[Sentence, error] {
	return func(yield func(Sentence, error) bool) {
		for {
			s, err := r.Next()
			if err == io.EOF {
				return
			}
			if !yield(s, err) || err != nil {
				return
			}
		}
	}
}

// readLine returns the next line without its line end and trailing
// whitespace (and without a leading byte-order mark on line 1).
func (r *Reader) readLine() (string, error) {
	r.buf = r.buf[:0]
	for {
		chunk, err := r.br.ReadSlice('\n')
		r.buf = append(r.buf, chunk...)
		if len(r.buf) > MaxLineBytes {
			return "", r.errorf(r.line+1, "line longer than %d bytes", MaxLineBytes)
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err == io.EOF && len(r.buf) == 0 {
			return "", io.EOF
		}
		if err != nil && err != io.EOF {
			return "", fmt.Errorf("%s:%d: read: %w", r.name, r.line+1, err)
		}
		break
	}
	r.line++
	b := r.buf
	if r.line == 1 {
		b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
	}
	b = bytes.TrimRight(b, " \t\r\n\v\f")
	if !utf8.Valid(b) {
		return "", r.errorf(r.line, "invalid UTF-8")
	}
	return string(b), nil
}

func (r *Reader) errorf(line int, format string, args ...any) error {
	return &ParseError{File: r.name, Line: line, Msg: fmt.Sprintf(format, args...)}
}

// parseLine splits one non-blank line into a token.
func (r *Reader) parseLine(line string) (Token, bool, error) {
	fields := r.fields[:0]
	if strings.IndexByte(line, '\t') >= 0 {
		for rest := line; ; {
			f, after, more := strings.Cut(rest, "\t")
			fields = append(fields, f)
			if !more {
				break
			}
			rest = after
		}
		for i, f := range fields {
			fields[i] = strings.Trim(f, " \r\v\f")
			if fields[i] == "" {
				return Token{}, false, r.errorf(r.line, "column %d is empty", i+1)
			}
		}
	} else {
		fields = appendFields(fields, line)
	}
	r.fields = fields
	for i, f := range fields {
		if strings.IndexByte(f, '\r') >= 0 {
			return Token{}, false, r.errorf(r.line, "column %d contains a carriage return", i+1)
		}
	}
	if fields[0] == DocStart {
		return Token{}, true, nil
	}
	if len(fields) < 2 {
		return Token{}, false, r.errorf(r.line, "token %q has no tag column", fields[0])
	}
	col := r.cfg.tagColumn
	if col < 0 {
		col += len(fields)
	}
	if col <= 0 || col >= len(fields) {
		return Token{}, false, r.errorf(r.line, "tag column %d not present (line has %d columns)", r.cfg.tagColumn+1, len(fields))
	}
	tag := fields[col]
	if !validTag(tag) {
		return Token{}, false, r.errorf(r.line, "invalid tag %q for token %q (want O, B-X, I-X, E-X, S-X, L-X or U-X)", tag, fields[0])
	}
	if interned, ok := r.tags[tag]; ok {
		tag = interned
	} else {
		tag = strings.Clone(tag)
		r.tags[tag] = tag
	}
	tok := Token{Text: fields[0], Tag: tag}
	if len(fields) > 2 {
		tok.Extra = make([]string, 0, len(fields)-2)
		for i := 1; i < len(fields); i++ {
			if i != col {
				tok.Extra = append(tok.Extra, fields[i])
			}
		}
	}
	return tok, false, nil
}

// validTag accepts O, a bare chunk prefix (untyped, as in S800) and
// prefix-type with prefix one of B I E S L U and a non-empty type.
func validTag(tag string) bool {
	if tag == "O" {
		return true
	}
	if tag == "" || !strings.ContainsRune("BIESLU", rune(tag[0])) {
		return false
	}
	return len(tag) == 1 || len(tag) > 2 && tag[1] == '-'
}

// Read reads a whole corpus from r.
func Read(rd io.Reader, name string, opts ...Option) (*Corpus, error) {
	r := NewReader(rd, name, opts...)
	c := &Corpus{Name: name}
	for {
		s, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		c.Sentences = append(c.Sentences, s)
	}
	c.Docs = r.Docs()
	return c, nil
}

// ReadFile reads the corpus at path.
func ReadFile(path string, opts ...Option) (*Corpus, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("corpus: %w", err)
	}
	defer f.Close()
	return Read(f, path, opts...)
}

// appendFields appends the runs of non-space characters of line (as
// strings.Fields does) to dst.
func appendFields(dst []string, line string) []string {
	start := -1
	for i, c := range line {
		if unicode.IsSpace(c) {
			if start >= 0 {
				dst = append(dst, line[start:i])
				start = -1
			}
		} else if start < 0 {
			start = i
		}
	}
	if start >= 0 {
		dst = append(dst, line[start:])
	}
	return dst
}
