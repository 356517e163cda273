package main

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"strconv"
	"strings"
)

// breedRow is one candidate of the best-of-breed table: a finished run's
// scores (fractions; NaN where not measured).
type breedRow struct {
	corpus, encoder, variant string
	dev, test, sent, para    float64
	source                   string // "" for this grid's runs
}

// smallDeBERTaEncoder names the reproduction's pre-trained small DeBERTa in
// the best-of-breed table.
const smallDeBERTaEncoder = "openmed-small-deberta (4×256)"

// readSmallDeBERTa reads the pre-trained DeBERTa rows of the reproduction's
// results (benchmarks/reproduce/RESULTS.md, "DeBERTa-v3-shaped encoder vs
// BERT": | corpus | method | init | BERT test F1 | DeBERTa test P | R | F1 |
// Δ | p | p | BERT dev F1 | DeBERTa dev F1 | …) as best-of-breed candidates.
// Their run folders were lost with a machine on 2026-12-06; the committed
// table is the record. A missing file gives no rows.
func readSmallDeBERTa(path string) ([]breedRow, error) {
	if path == "" {
		return nil, nil
	}
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []breedRow
	in := false
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for line := 1; sc.Scan(); line++ {
		t := sc.Text()
		if strings.HasPrefix(t, "#") {
			in = strings.Contains(t, "DeBERTa-v3-shaped encoder vs BERT")
			continue
		}
		if !in || !strings.HasPrefix(t, "| ") || strings.HasPrefix(t, "| corpus") {
			continue
		}
		cells := strings.Split(strings.Trim(t, "|"), "|")
		for i := range cells {
			cells[i] = strings.Trim(strings.TrimSpace(cells[i]), "*")
		}
		if len(cells) < 12 || cells[2] != "pretrained" {
			continue
		}
		test, err1 := strconv.ParseFloat(cells[6], 64)
		dev, err2 := strconv.ParseFloat(cells[11], 64)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("%s:%d: DeBERTa test F1 %q / dev F1 %q: not numbers", path, line, cells[6], cells[11])
		}
		out = append(out, breedRow{corpus: cells[0], encoder: smallDeBERTaEncoder, variant: cells[1],
			dev: dev / 100, test: test / 100, sent: math.NaN(), para: math.NaN(), source: path})
	}
	return out, sc.Err()
}

// writeBestOfBreed writes, per corpus, the candidate with the best dev F1
// across encoders and variants (the paper's best-of-breed selection: the
// test split plays no part), with the anchors beside it.
func writeBestOfBreed(b *strings.Builder, rows []breedRow, smallSource string) {
	b.WriteString("\n## Best of breed (per corpus, best dev F1 across encoders and variants)\n\n")
	fmt.Fprintf(b, "Candidates: this grid's finished runs and the pre-trained small DeBERTa of the reproduction (%s, DeBERTa-v3-shaped 4×256 encoder pre-trained here; its raw-text figures were not measured). Chosen on dev F1 only.\n\n", smallSource)
	b.WriteString("| corpus | encoder | variant | candidates | dev F1 | test F1 (CoNLL) | raw text, sentences | raw text, paragraphs | paper | BERT-base (BLURB) |\n|---|---|---|---|---|---|---|---|---|---|\n")
	for _, c := range Corpora {
		var best *breedRow
		n := 0
		for i := range rows {
			r := &rows[i]
			if r.corpus != c || math.IsNaN(r.dev) {
				continue
			}
			n++
			if best == nil || r.dev > best.dev {
				best = r
			}
		}
		if best == nil {
			fmt.Fprintf(b, "| %s | no finished run yet | | 0 | | | | | %s | %s |\n", c, anchor(paperF1, c), anchor(blurbBERTBase, c))
			continue
		}
		fmt.Fprintf(b, "| %s | %s | %s | %d | %s | %s | %s | %s | %s | %s |\n", c, best.encoder, best.variant, n,
			pct(best.dev), pct(best.test), pct(best.sent), pct(best.para), anchor(paperF1, c), anchor(blurbBERTBase, c))
	}
}
