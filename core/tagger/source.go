package tagger

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/openmed/openmed/core/cache"
	"github.com/openmed/openmed/core/checkpoint"
	"github.com/openmed/openmed/core/encoder"
	"github.com/openmed/openmed/core/lora"
	"github.com/openmed/openmed/core/onnx"
	"github.com/openmed/openmed/core/tokenize"
)

// EnvModel names the environment variable with the default model: a model
// folder, or a folder holding a default tagger manifest (default.json).
const EnvModel = "OPENMED_MODEL"

// ErrNoDefaultModel reports that no model was named and no default exists.
var ErrNoDefaultModel = errors.New("tagger: no model given and no default model found: pass --model DIR (an HF token-classification folder, an ONNX export, a PEFT adapter folder or a folder with " + ManifestFile + "), set " + EnvModel + " to one, or use a build that embeds the shipped models (models/" + ManifestFile + " and the folders it names, written by `make reproduce`)")

// ErrDefaultIsManifest reports that the default tagger is a base with
// adapters (a manifest), not one model folder: open it with Open("").
var ErrDefaultIsManifest = errors.New("tagger: the default tagger is a base model with adapters (" + ManifestFile + "); open it with tagger.Open(\"\")")

// DefaultModelDir finds the default model when it is a single model folder
// ($OPENMED_MODEL naming one). When the default is a manifest (base +
// adapters, see Open) it returns ErrDefaultIsManifest; when there is
// none, ErrNoDefaultModel.
func DefaultModelDir() (string, error) {
	cache, err := cacheRoot(DefaultOptions())
	if err != nil {
		return "", err
	}
	src, err := resolveDefault(cache)
	if err != nil {
		return "", err
	}
	if src.Manifest != nil {
		return "", fmt.Errorf("%w: %s (%s)", ErrDefaultIsManifest, src.Dir, src.Origin)
	}
	return src.Dir, nil
}

func exists(p string) bool { _, err := os.Stat(p); return err == nil }

// adapterBase resolves an adapter folder's base model: the explicit option
// (a folder or an encoder cache name, encoder.Resolve), else
// adapter_config.json's base_model_name_or_path as a path (absolute, or
// relative to the working directory or to the adapter folder) or a cache
// name.
func adapterBase(adapterDir, explicit string) (string, error) {
	if explicit != "" {
		return encoder.Resolve(explicit)
	}
	pc, err := checkpoint.LoadAdapterConfig(adapterDir)
	if err != nil {
		return "", fmt.Errorf("tagger: %w", err)
	}
	p := pc.BaseModelNameOrPath
	for _, c := range []string{p, filepath.Join(adapterDir, p)} {
		if p != "" && exists(filepath.Join(c, checkpoint.ConfigFile)) {
			return c, nil
		}
	}
	if c, err := encoder.Resolve(p); p != "" && err == nil && exists(filepath.Join(c, checkpoint.ConfigFile)) {
		return c, nil
	}
	return "", fmt.Errorf("tagger: adapter %s: base_model_name_or_path %q is not a local model folder; name the base with WithBaseDir / --base", adapterDir, p)
}

func cacheRoot(o Options) (string, error) {
	if o.CacheDir != "" {
		return o.CacheDir, nil
	}
	return cache.Root(), nil
}

// hashFolders is a sha256 over the model-defining files of the folders
// (config, weights, adapter files, tokenizer), so a changed model gets a new
// cache entry.
func hashFolders(dirs ...string) (string, error) {
	h := sha256.New()
	names := []string{checkpoint.ConfigFile, checkpoint.SafeWeightsFile, checkpoint.SafeWeightsIndexFile, checkpoint.WeightsFile,
		checkpoint.AdapterConfigFile, "adapter_model.safetensors", "adapter_model.bin"}
	names = append(append(names, tokenize.ModelFiles...), tokenize.FileConfig)
	for _, d := range dirs {
		for _, n := range names {
			f, err := os.Open(filepath.Join(d, n))
			if os.IsNotExist(err) {
				continue
			}
			if err != nil {
				return "", fmt.Errorf("tagger: cache key: %w", err)
			}
			fmt.Fprintf(h, "%s\x00", n)
			_, err = io.Copy(h, f)
			f.Close()
			if err != nil {
				return "", fmt.Errorf("tagger: cache key: %w", err)
			}
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:24], nil
}

// cachedExport returns an ONNX export folder for an HF folder (or base +
// adapter, merged first), made once per content hash under the cache root.
func cachedExport(o Options, hfDir, adapterDir string) (string, error) {
	root, err := cacheRoot(o)
	if err != nil {
		return "", err
	}
	dirs := []string{hfDir}
	if adapterDir != "" {
		dirs = append(dirs, adapterDir)
	}
	key, err := hashFolders(dirs...)
	if err != nil {
		return "", err
	}
	out := filepath.Join(root, "onnx-"+key)
	if exists(filepath.Join(out, filepath.FromSlash(checkpoint.ONNXModelPath))) && exists(filepath.Join(out, checkpoint.ConfigFile)) {
		return out, nil
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		return "", fmt.Errorf("tagger: cache: %w", err)
	}
	tmp, err := os.MkdirTemp(root, ".tmp-"+key)
	if err != nil {
		return "", fmt.Errorf("tagger: cache: %w", err)
	}
	defer os.RemoveAll(tmp)
	src := hfDir
	if adapterDir != "" {
		src = filepath.Join(tmp, "merged")
		if _, err := lora.MergeAdapter(hfDir, adapterDir, src, lora.Merge); err != nil {
			return "", err
		}
	}
	exp := filepath.Join(tmp, "export")
	if _, err := onnx.Export(src, exp, onnx.ExportOptions{}); err != nil {
		return "", fmt.Errorf("tagger: export to cache: %w", err)
	}
	if err := os.Rename(exp, out); err != nil && !exists(filepath.Join(out, checkpoint.ConfigFile)) {
		return "", fmt.Errorf("tagger: cache: %w", err)
	}
	return out, nil
}
