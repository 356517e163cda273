package corpus

import (
	"sort"
)

// DocStart is the token of CoNLL document-separator lines
// ("-DOCSTART- O"), which readers skip while counting documents.
const DocStart = "-DOCSTART-"

// Token is one line of a CoNLL file: the word, its tag and any further
// columns, in file order.
type Token struct {
	Text  string
	Tag   string
	Extra []string
}

// Sentence is a run of non-blank lines.
type Sentence struct {
	Tokens []Token
	// Doc is the number of -DOCSTART- lines before the sentence: 0 for files
	// without document separators, 1 for the first document otherwise.
	Doc int
	// Line is the 1-based line number of the sentence's first token; token i
	// is on line Line+i.
	Line int
}

// Len is the number of tokens.
func (s Sentence) Len() int { return len(s.Tokens) }

// Tags returns the tag of every token.
func (s Sentence) Tags() []string {
	out := make([]string, len(s.Tokens))
	for i, t := range s.Tokens {
		out[i] = t.Tag
	}
	return out
}

// Words returns the text of every token.
func (s Sentence) Words() []string {
	out := make([]string, len(s.Tokens))
	for i, t := range s.Tokens {
		out[i] = t.Text
	}
	return out
}

// Corpus is a whole file of sentences.
type Corpus struct {
	// Name is the file name used in error messages.
	Name      string
	Sentences []Sentence
	// Docs is the number of -DOCSTART- lines (0 when the file has none).
	Docs int
}

// Tokens is the total number of tokens.
func (c *Corpus) Tokens() int {
	n := 0
	for _, s := range c.Sentences {
		n += len(s.Tokens)
	}
	return n
}

// Tags returns every sentence's tags, the input shape of metrics.Evaluate.
func (c *Corpus) Tags() [][]string {
	out := make([][]string, len(c.Sentences))
	for i, s := range c.Sentences {
		out[i] = s.Tags()
	}
	return out
}

// Words returns every sentence's words.
func (c *Corpus) Words() [][]string {
	out := make([][]string, len(c.Sentences))
	for i, s := range c.Sentences {
		out[i] = s.Words()
	}
	return out
}

// Labels returns the label set: "O" first, then the other tags sorted
// by entity type and then prefix ("B-Disease", "I-Disease"), the order
// Hugging Face token-classification configs (id2label) conventionally use.
func (c *Corpus) Labels() []string {
	return Labels(c.Sentences)
}

// Labels returns the sorted label set of sentences, "O" first (see
// Corpus.Labels). "O" is included even when absent.
func Labels(sentences []Sentence) []string {
	seen := map[string]bool{"O": true}
	for _, s := range sentences {
		for _, t := range s.Tokens {
			seen[t.Tag] = true
		}
	}
	out := make([]string, 0, len(seen))
	for t := range seen {
		if t != "O" {
			out = append(out, t)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		ti, tj := labelType(out[i]), labelType(out[j])
		if ti != tj {
			return ti < tj
		}
		return prefixRank(out[i][0]) < prefixRank(out[j][0])
	})
	return append([]string{"O"}, out...)
}

func labelType(tag string) string {
	if len(tag) > 2 {
		return tag[2:]
	}
	return ""
}

// prefixRank orders prefixes as a chunk reads: B, I, L/E, U/S.
func prefixRank(p byte) int {
	switch p {
	case 'B':
		return 0
	case 'I':
		return 1
	case 'E', 'L':
		return 2
	case 'S', 'U':
		return 3
	}
	return 4
}

// Documents groups the sentences by Sentence.Doc, in file order: one group
// per document of a file with -DOCSTART- lines (JNLPBA, CLL), a single group
// otherwise. Documents that contain no sentence are omitted.
func (c *Corpus) Documents() [][]Sentence {
	var out [][]Sentence
	for i := 0; i < len(c.Sentences); {
		j := i + 1
		for j < len(c.Sentences) && c.Sentences[j].Doc == c.Sentences[i].Doc {
			j++
		}
		out = append(out, c.Sentences[i:j:j])
		i = j
	}
	return out
}
