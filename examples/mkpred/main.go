// Command mkpred builds the example files of `make demo`: the first N
// sentences of an IOB2 gold corpus (by default NCBI-Disease test, CC0) and a
// prediction file with the same tokens and a realistic, deterministic set of
// tagger mistakes: missed entities, boundary errors (one token short or
// long), entities opened with I- instead of B- (right in seqeval's default
// mode, wrong in strict mode) and spurious entities on disease-looking words.
//
// Every decision comes from a SHA-256 hash of the sentence and token index,
// so the output is identical on every machine and Go version:
//
//	go run ./examples/mkpred -src ../shared/data/NCBI-Disease/test.tsv -n 100 \
//	    -gold examples/ncbi_disease_sample.gold.tsv -pred examples/ncbi_disease_sample.pred.tsv
package main

import (
	"crypto/sha256"
	"encoding/binary"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/openmed/openmed/core/corpus"
	"github.com/openmed/openmed/core/scheme"
)

func main() {
	src := flag.String("src", "../shared/data/NCBI-Disease/test.tsv", "gold IOB2 corpus to sample")
	n := flag.Int("n", 100, "number of leading sentences to keep")
	goldOut := flag.String("gold", "examples/ncbi_disease_sample.gold.tsv", "gold sample to write")
	predOut := flag.String("pred", "examples/ncbi_disease_sample.pred.tsv", "prediction file to write")
	flag.Parse()
	if err := run(*src, *n, *goldOut, *predOut); err != nil {
		fmt.Fprintln(os.Stderr, "mkpred:", err)
		os.Exit(1)
	}
}

func run(src string, n int, goldOut, predOut string) error {
	gold, pred, err := Make(src, n)
	if err != nil {
		return err
	}
	if err := corpus.WriteFile(goldOut, gold); err != nil {
		return err
	}
	return corpus.WriteFile(predOut, pred)
}

// roll returns a deterministic number in [0, 100) for a decision kind at a
// position.
func roll(kind string, sentence, index int) int {
	sum := sha256.Sum256([]byte(fmt.Sprintf("%s/%d/%d", kind, sentence, index)))
	return int(binary.BigEndian.Uint64(sum[:8]) % 100)
}

// diseaseLike marks O words a weak tagger would mistake for diseases.
func diseaseLike(word string) bool {
	w := strings.ToLower(word)
	for _, suf := range []string{"itis", "oma", "emia", "pathy", "osis", "plasia", "trophy", "syndrome", "deficiency", "disorder"} {
		if len(w) > len(suf)+2 && strings.HasSuffix(w, suf) {
			return true
		}
	}
	return false
}

// Make returns the first n sentences of src and their simulated predictions.
func Make(src string, n int) (gold, pred []corpus.Sentence, err error) {
	c, err := corpus.ReadFile(src)
	if err != nil {
		return nil, nil, err
	}
	if n > len(c.Sentences) {
		n = len(c.Sentences)
	}
	gold = c.Sentences[:n]
	for k, s := range gold {
		tags := s.Tags()
		var spans []scheme.Span
		for e, sp := range scheme.Decode(tags, scheme.Default, scheme.IOB2) {
			r := roll("entity", k, e)
			switch {
			case r < 10: // missed entity
				continue
			case r < 15 && sp.Len() > 1: // one token short at the start
				sp.Start++
			case r < 20 && sp.Len() > 1: // one token short at the end
				sp.End--
			case r < 25 && sp.End < len(tags) && tags[sp.End] == "O": // one token long
				sp.End++
			}
			spans = append(spans, sp)
		}
		// Spurious single-token entities on disease-looking O words.
		var withFP []scheme.Span
		next := 0
		for i := range tags {
			for next < len(spans) && spans[next].End <= i {
				withFP = append(withFP, spans[next])
				next++
			}
			inside := next < len(spans) && spans[next].Start <= i
			if !inside && tags[i] == "O" && diseaseLike(s.Tokens[i].Text) && roll("fp", k, i) < 60 {
				withFP = append(withFP, scheme.Span{Type: "Disease", Start: i, End: i + 1})
			}
		}
		withFP = append(withFP, spans[next:]...)
		ptags, err := scheme.Encode(withFP, len(tags), scheme.IOB2)
		if err != nil {
			return nil, nil, fmt.Errorf("%s:%d: %w", src, s.Line, err)
		}
		// A multi-token entity opened with I- (what an unrepaired tagger emits).
		for e, sp := range withFP {
			if sp.Len() > 1 && (sp.Start == 0 || ptags[sp.Start-1] == "O") && roll("i-start", k, e) < 8 {
				ptags[sp.Start] = "I-" + sp.Type
			}
		}
		ps := corpus.Sentence{Doc: s.Doc, Line: s.Line, Tokens: make([]corpus.Token, len(s.Tokens))}
		for i, t := range s.Tokens {
			ps.Tokens[i] = corpus.Token{Text: t.Text, Tag: ptags[i], Extra: t.Extra}
		}
		pred = append(pred, ps)
	}
	return gold, pred, nil
}
