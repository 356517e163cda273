package dapt

import (
	"bufio"
	"fmt"
	"os"
	"strings"

	"github.com/openmed/openmed/core/tokenize"
)

// ReadLines reads non-empty lines (one document or sentence each) from text
// files.
func ReadLines(paths []string) ([]string, error) {
	var out []string
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			return nil, err
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 1<<26)
		for sc.Scan() {
			if l := strings.TrimSpace(sc.Text()); l != "" {
				out = append(out, l)
			}
		}
		err = sc.Err()
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("dapt: no text in %v (empty files?)", paths)
	}
	return out, nil
}

// Pack tokenises lines without special tokens, concatenates them (HF
// run_mlm.py group_texts) and cuts the stream into blocks of blockLen
// tokens, each [CLS] + blockLen−2 content tokens + [SEP]; the last block
// holds the remainder (shorter, padded at batching).
func Pack(tok *tokenize.Tokenizer, lines []string, blockLen, workers int) ([][]int32, error) {
	sp := tok.Special()
	if sp.CLS < 0 || sp.SEP < 0 {
		return nil, fmt.Errorf("dapt: the tokenizer has no [CLS]/[SEP] token")
	}
	if blockLen < 3 {
		return nil, fmt.Errorf("dapt: block length %d < 3", blockLen)
	}
	encs, err := tok.EncodeBatch(lines, tokenize.WithEncodeOptions(tokenize.WithoutSpecialTokens()), tokenize.WithWorkers(max(workers, 1)))
	if err != nil {
		return nil, err
	}
	var stream []int32
	for _, e := range encs {
		stream = append(stream, e.IDs...)
	}
	content := blockLen - 2
	var blocks [][]int32
	for lo := 0; lo < len(stream); lo += content {
		hi := min(lo+content, len(stream))
		b := make([]int32, 0, hi-lo+2)
		b = append(b, sp.CLS)
		b = append(b, stream[lo:hi]...)
		blocks = append(blocks, append(b, sp.SEP))
	}
	return blocks, nil
}
