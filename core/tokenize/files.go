package tokenize

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// The file names of a tokenizer inside a model folder, as transformers'
// save_pretrained writes them. This file owns them; other packages use
// these names and ModelFiles / Files.
const (
	// FileJSON is HF tokenizers' serialisation (tokenizer.json).
	FileJSON = "tokenizer.json"
	// FileVocab is a WordPiece vocabulary, one token per line (vocab.txt).
	FileVocab = "vocab.txt"
	// FileSPM is a SentencePiece model (DeBERTa-v3's spm.model).
	FileSPM = "spm.model"
	// FileConfig is tokenizer_config.json (do_lower_case, model_max_length, ...).
	FileConfig = "tokenizer_config.json"
	// FileSpecialTokens is special_tokens_map.json.
	FileSpecialTokens = "special_tokens_map.json"
	// FileAddedTokens is added_tokens.json.
	FileAddedTokens = "added_tokens.json"
)

// ModelFiles are the files that define a tokenizer's vocabulary, in the
// order Load prefers them.
var ModelFiles = []string{FileJSON, FileVocab, FileSPM}

// Files are every tokenizer file a model folder may hold (ModelFiles plus
// the configuration files), the set copied when a folder is derived from
// another (training outputs, merges, exports).
var Files = []string{FileJSON, FileConfig, FileSpecialTokens, FileAddedTokens, FileVocab, FileSPM}

// HasFiles reports whether dir holds one of ModelFiles.
func HasFiles(dir string) bool {
	for _, f := range ModelFiles {
		if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
			return true
		}
	}
	return false
}

// CopyFiles copies the Files present in src (a folder, or one tokenizer
// file) into dst, each written to a temporary file and renamed into place,
// and returns the destination paths (none when src has no tokenizer: check
// HasFiles where one is required). Copying a folder onto itself is a no-op.
func CopyFiles(src, dst string) ([]string, error) {
	if fi, err := os.Stat(src); err == nil && !fi.IsDir() {
		p := filepath.Join(dst, filepath.Base(src))
		return []string{p}, copyAtomic(src, p)
	}
	var out []string
	for _, f := range Files {
		from, to := filepath.Join(src, f), filepath.Join(dst, f)
		if _, err := os.Stat(from); errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err := copyAtomic(from, to); err != nil {
			return nil, err
		}
		out = append(out, to)
	}
	return out, nil
}

// copyAtomic copies src to dst through a temporary file in dst's folder
// (mode 0644, synced), leaving dst alone when both name the same file.
func copyAtomic(src, dst string) error {
	if a, err := os.Stat(src); err == nil {
		if b, err := os.Stat(dst); err == nil && os.SameFile(a, b) {
			return nil
		}
	}
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("tokenize: %w", err)
	}
	defer in.Close()
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return fmt.Errorf("tokenize: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".tmp-*")
	if err != nil {
		return fmt.Errorf("tokenize: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := io.Copy(tmp, in); err != nil {
		tmp.Close()
		return fmt.Errorf("tokenize: copy %s: %w", src, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return fmt.Errorf("tokenize: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("tokenize: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("tokenize: %w", err)
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return fmt.Errorf("tokenize: %w", err)
	}
	return nil
}
