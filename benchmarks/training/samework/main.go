// Command samework runs openmed's side of the same-work NCBI-Disease
// comparison with a PyTorch peer (benchmarks/training/same_work.sh):
//
//	samework prepare -dir D    one random initialisation + features + recipe
//	samework train   -dir D    openmed fine-tunes D/init on the features
//	samework score   -dir D -pred D/peer/pred.json -name peer
//	samework report  -dir D    both F1s, wall times, tokens/s, acceptance
//
// Both sides start from the same saved initialisation (model.New: HF
// _init_weights), train on the same token-classification examples
// (training.BuildDataset: PubMedBERT WordPiece, first-sub-token labels,
// 256/50 windows) in the same batch order with the same recipe, and are
// scored by the same code: per-word argmax at the owning window's first
// sub-token, IOB2 repair, core/metrics seqeval default micro-F1.
package main

import (
	"flag"
	"fmt"
	"os"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "prepare":
		err = runPrepare(os.Args[2:])
	case "train":
		err = runTrain(os.Args[2:])
	case "score":
		err = runScore(os.Args[2:])
	case "report":
		err = runReport(os.Args[2:])
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "samework:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: samework prepare|train|score|report -dir DIR [flags]")
	os.Exit(2)
}

// newFlags makes a subcommand flag set with the common -dir flag.
func newFlags(name string) (*flag.FlagSet, *string) {
	fs := flag.NewFlagSet(name, flag.ExitOnError)
	dir := fs.String("dir", "", "work folder (required)")
	return fs, dir
}
