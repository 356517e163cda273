package main

import (
	"github.com/openmed/openmed/training/dapt"
)

// textFile is the pre-training text inside the work dir.
const textFile = "pretrain_text.txt"

// TextStats describes the pre-training text (dapt.TextStats).
type TextStats = dapt.TextStats

// BuildText writes the pre-training text of Corpora under data to out:
// dapt.CorpusText (train splits only, duplicates and any sentence of a
// devel/test split dropped).
func BuildText(data, out string) (*TextStats, error) {
	return dapt.WriteCorpusText(data, Corpora, out)
}
