package tagger

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/openmed/openmed/core/checkpoint"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestNewEmptyIsDefault: Open("") opens the manifest default (base with both
// adapters) exactly as opening its folder by name — from the embedded FS,
// from $OPENMED_MODEL and from models/default.json on disk — and Tag /
// TagBatch without options tag with all adapters (the union, each entity
// with its adapter); the caller's options (cache folder) are used; a
// manifest whose tag_with names one adapter tags with that one.
func TestNewEmptyIsDefault(t *testing.T) {
	root := standInDefault(t)
	texts := append(ncbiSentences(t, 8), "Cisplatin-induced nephrotoxicity was observed.", "Famotidine-associated delirium in a patient with renal failure.")
	ctx := context.Background()
	check := func(t *testing.T, opts ...Option) *Tagger {
		t.Helper()
		opts = append([]Option{WithBackend(BackendEngine), WithThreads(1)}, opts...)
		d, err := Open("", opts...)
		require.NoError(t, err)
		defer d.Close()
		want, err := d.TagBatch(ctx, texts)
		require.NoError(t, err)
		tg, err := Open(d.Source().Dir, opts...)
		require.NoError(t, err)
		t.Cleanup(func() { tg.Close() })
		require.NotNil(t, tg.Source().Manifest)
		assert.Equal(t, []string{"chemical", "disease"}, tg.Adapters())
		got, err := tg.TagBatch(ctx, texts)
		require.NoError(t, err)
		counts := map[string]int{}
		for i := range texts {
			sameEntities(t, want[i], got[i], 0, "Open(\"\") = Open(its folder)") // the same tagger, kernels and batches: bit-identical
			for k, e := range got[i] {
				require.Equal(t, want[i][k].Adapter, e.Adapter)
				counts[e.Adapter]++
			}
		}
		assert.Positive(t, counts["disease"], "tag with all: Disease entities")
		assert.Positive(t, counts["chemical"], "tag with all: Chemical entities")
		one, err := tg.Tag(ctx, texts[len(texts)-1])
		require.NoError(t, err)
		// Alone vs inside a padded batch: other GEMM shapes, so the
		// reordering bound relative to the logits.
		sameEntities(t, got[len(texts)-1], one, scoreTol(t, tg, texts, 0), "Tag = TagBatch")
		// Explicit options still select; TagTokens needs one adapter.
		dis, err := tg.TagBatch(ctx, texts, WithAdapter("disease"))
		require.NoError(t, err)
		for i := range texts {
			for _, e := range dis[i] {
				assert.Empty(t, e.Adapter)
				assert.Equal(t, "Disease", e.Label)
			}
		}
		// TagTokens with every adapter: one tag per word from the flat
		// union; each tagged run is an entity some adapter found.
		words, err := tg.TagTokens(ctx, texts[0])
		require.NoError(t, err)
		union, err := tg.Tag(ctx, texts[0], WithAllAdapters())
		require.NoError(t, err)
		spans := map[[2]int]map[string]bool{}
		for _, e := range union {
			k := [2]int{e.Start, e.End}
			if spans[k] == nil {
				spans[k] = map[string]bool{}
			}
			spans[k][e.Label] = true
		}
		for i := 0; i < len(words); i++ {
			if !strings.HasPrefix(words[i].Tag, "B-") {
				assert.Equal(t, "O", words[i].Tag, "runs start with B-")
				continue
			}
			j := i + 1
			for j < len(words) && words[j].Tag == "I-"+words[i].Tag[2:] {
				j++
			}
			assert.True(t, spans[[2]int{words[i].Start, words[j-1].End}][words[i].Tag[2:]], "word run %d–%d (%s) is a union entity", i, j, words[i].Tag)
			i = j - 1
		}
		_, err = tg.TagTokens(ctx, texts[0], WithAdapter("chemical"))
		assert.NoError(t, err)
		return tg
	}

	t.Run("embedded", func(t *testing.T) {
		cache := isolateDefault(t, root)
		check(t)
		entries, err := os.ReadDir(cache)
		require.NoError(t, err)
		require.Len(t, entries, 1)
		assert.Regexp(t, regexp.MustCompile(`^default-[0-9a-f]{12}$`), entries[0].Name())
		// WithCacheDir is honoured (DefaultModelDir used the default options).
		other := t.TempDir()
		check(t, WithCacheDir(other))
		entries, err = os.ReadDir(other)
		require.NoError(t, err)
		assert.Len(t, entries, 1, "extracted under WithCacheDir")
	})
	t.Run("env", func(t *testing.T) {
		isolateDefault(t, nil)
		t.Setenv(EnvModel, root)
		check(t)
	})
	t.Run("disk", func(t *testing.T) {
		isolateDefault(t, nil)
		repo := t.TempDir()
		copyDir(t, root, filepath.Join(repo, "models"))
		t.Chdir(repo)
		check(t)
	})
	t.Run("env-single-folder", func(t *testing.T) {
		// $OPENMED_MODEL naming one model folder: that model, default head.
		isolateDefault(t, nil)
		t.Setenv(EnvModel, filepath.Join(root, "ncbi-disease-lora"))
		tg, err := Open("", WithBackend(BackendEngine), WithBaseDir(filepath.Join(root, "openmed-small-bio")))
		require.NoError(t, err)
		defer tg.Close()
		assert.Equal(t, diseaseLabels, tg.Labels())
		assert.Empty(t, tg.Adapters())
		_, err = tg.TagTokens(ctx, texts[0])
		assert.NoError(t, err)
	})
	t.Run("tag_with-one", func(t *testing.T) {
		one := t.TempDir()
		copyDir(t, root, one)
		require.NoError(t, os.WriteFile(filepath.Join(one, ManifestFile),
			[]byte(`{"base": "openmed-small-bio", "adapters": {"disease": "ncbi-disease-lora", "chemical": "bc5cdr-chem-lora"}, "tag_with": "chemical"}`), 0o644))
		isolateDefault(t, nil)
		t.Setenv(EnvModel, one)
		tg, err := Open("", WithBackend(BackendEngine), WithThreads(1))
		require.NoError(t, err)
		defer tg.Close()
		got, err := tg.TagBatch(ctx, texts)
		require.NoError(t, err)
		want, err := tg.TagBatch(ctx, texts, WithAdapter("chemical"))
		require.NoError(t, err)
		assert.Equal(t, want, got)
		words, err := tg.TagTokens(ctx, texts[0])
		require.NoError(t, err)
		ref, err := tg.TagTokens(ctx, texts[0], WithAdapter("chemical"))
		require.NoError(t, err)
		assert.Equal(t, ref, words)
	})
	t.Run("none", func(t *testing.T) {
		isolateDefault(t, nil)
		_, err := Open("")
		assert.ErrorIs(t, err, ErrNoDefaultModel)
	})
}

// readMarker returns the extracted folder's marker entries by path.
func readMarker(t *testing.T, dir string) map[string]extractedFile {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, extractedMarker))
	require.NoError(t, err)
	var fs []extractedFile
	require.NoError(t, json.Unmarshal(data, &fs))
	out := map[string]extractedFile{}
	for _, f := range fs {
		out[f.Path] = f
	}
	return out
}

// TestDefaultExtractDetectsSameSizeCorruption: the marker records each
// file's SHA-256 (equal to the file's), and a file altered without changing
// its size or modification time — the weights, an adapter's config — is
// detected on the next open and re-extracted; so are a marker whose digest
// disagrees with the embedded file and a marker of the older size-only
// format.
func TestDefaultExtractDetectsSameSizeCorruption(t *testing.T) {
	root := standInDefault(t)
	isolateDefault(t, root)
	open := func() string {
		t.Helper()
		d, err := Open("", WithBackend(BackendEngine))
		require.NoError(t, err)
		require.NoError(t, d.Close())
		return d.Source().Dir
	}
	dir := open()
	marker := readMarker(t, dir)
	weightsRel := "openmed-small-bio/" + checkpoint.SafeWeightsFile
	require.Contains(t, marker, weightsRel)
	require.Contains(t, marker, ManifestFile)
	for p, f := range marker {
		data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(p)))
		require.NoError(t, err)
		sum := sha256.Sum256(data)
		assert.Equal(t, hex.EncodeToString(sum[:]), f.SHA256, p)
		assert.Equal(t, int64(len(data)), f.Size, p)
	}

	corrupt := func(rel string, at int64) {
		t.Helper()
		name := filepath.Join(dir, filepath.FromSlash(rel))
		fi, err := os.Stat(name)
		require.NoError(t, err)
		f, err := os.OpenFile(name, os.O_RDWR, 0)
		require.NoError(t, err)
		b := make([]byte, 1)
		_, err = f.ReadAt(b, at)
		require.NoError(t, err)
		b[0] ^= 0x5a
		_, err = f.WriteAt(b, at)
		require.NoError(t, err)
		require.NoError(t, f.Close())
		require.NoError(t, os.Chtimes(name, fi.ModTime(), fi.ModTime()))
		fi2, err := os.Stat(name)
		require.NoError(t, err)
		require.Equal(t, fi.Size(), fi2.Size())
		require.Equal(t, fi.ModTime(), fi2.ModTime())
	}
	want := func(rel string) {
		t.Helper()
		exp, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(rel)))
		require.NoError(t, err)
		got, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(rel)))
		require.NoError(t, err)
		assert.Equal(t, exp, got, "%s re-extracted", rel)
	}

	// Same-size corruption of the weights, in the middle of the tensor data.
	wfi, err := os.Stat(filepath.Join(dir, filepath.FromSlash(weightsRel)))
	require.NoError(t, err)
	corrupt(weightsRel, wfi.Size()/2)
	assert.False(t, extractionComplete(dir, filesOf(marker)), "detected")
	assert.Equal(t, dir, open())
	want(weightsRel)
	wfi2, err := os.Stat(filepath.Join(dir, filepath.FromSlash(weightsRel)))
	require.NoError(t, err)
	assert.False(t, os.SameFile(wfi, wfi2), "the folder was replaced")

	// A small file: the last byte of an adapter's config.
	cfgRel := "bc5cdr-chem-lora/" + checkpoint.AdapterConfigFile
	corrupt(cfgRel, marker[cfgRel].Size-1)
	assert.Equal(t, dir, open())
	want(cfgRel)

	// Unchanged since: not rewritten.
	wfi3, err := os.Stat(filepath.Join(dir, filepath.FromSlash(weightsRel)))
	require.NoError(t, err)
	assert.Equal(t, dir, open())
	wfi4, err := os.Stat(filepath.Join(dir, filepath.FromSlash(weightsRel)))
	require.NoError(t, err)
	assert.True(t, os.SameFile(wfi3, wfi4), "an intact copy is reused")

	// A marker whose digest disagrees with the embedded file, and a marker
	// of the older format (sizes only): both replaced.
	for _, edit := range []func(f *extractedFile){
		func(f *extractedFile) { f.SHA256 = hex.EncodeToString(make([]byte, 32)) },
		func(f *extractedFile) { f.SHA256 = "" },
	} {
		m := readMarker(t, dir)
		fs := filesOf(m)
		for i := range fs {
			edit(&fs[i])
		}
		data, err := json.Marshal(fs)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, extractedMarker), data, 0o644))
		before, err := os.Stat(filepath.Join(dir, filepath.FromSlash(weightsRel)))
		require.NoError(t, err)
		assert.Equal(t, dir, open())
		after, err := os.Stat(filepath.Join(dir, filepath.FromSlash(weightsRel)))
		require.NoError(t, err)
		assert.False(t, os.SameFile(before, after), "re-extracted")
		assert.Equal(t, marker, readMarker(t, dir), "marker rewritten with digests")
	}
}

// filesOf is the marker's entries in path order.
func filesOf(m map[string]extractedFile) []extractedFile {
	var fs []extractedFile
	for _, f := range m {
		fs = append(fs, f)
	}
	sort.Slice(fs, func(i, j int) bool { return fs[i].Path < fs[j].Path })
	return fs
}

// shippedSizeFS is an in-memory stand-in of the shipped default's size: a
// 22 MB base weights file and two 1 MB adapters (random bytes; only the
// extraction and its check are exercised).
func shippedSizeFS(tb testing.TB) fstest.MapFS {
	tb.Helper()
	blob := func(n int) []byte {
		b := make([]byte, n)
		_, err := rand.Read(b)
		require.NoError(tb, err)
		return b
	}
	return fstest.MapFS{
		ManifestFile:                                   {Data: []byte(standInManifest)},
		"openmed-small-bio/config.json":                {Data: blob(700)},
		"openmed-small-bio/model.safetensors":          {Data: blob(22 << 20)},
		"openmed-small-bio/vocab.txt":                  {Data: blob(200 << 10)},
		"ncbi-disease-lora/adapter_config.json":        {Data: blob(900)},
		"ncbi-disease-lora/adapter_model.safetensors":  {Data: blob(1 << 20)},
		"bc5cdr-chem-lora/adapter_config.json":         {Data: blob(900)},
		"bc5cdr-chem-lora/adapter_model.safetensors":   {Data: blob(1 << 20)},
		"bc5cdr-chem-lora/README.md":                   {Data: blob(3000)},
		"ncbi-disease-lora/README.md":                  {Data: blob(3000)},
		"openmed-small-bio/README.md":                  {Data: blob(5000)},
		"openmed-small-bio/tokenizer_config.json":      {Data: blob(400)},
		"openmed-small-bio/special_tokens_map.json":    {Data: blob(200)},
		"openmed-small-bio/training_args_summary.json": {Data: blob(1000)},
	}
}

// TestDefaultVerifyCost logs what opening an already-extracted default of
// the shipped size costs: contentKey (hashing the embedded bytes, as before
// the per-file digests) and extractionComplete (reading and hashing the
// extracted copy, the check the digests add). Informational (the machine
// may be loaded): it logs the minimum and median of several runs, and fails
// only if the check is grossly slow (> 1 s).
func TestDefaultVerifyCost(t *testing.T) {
	if testing.Short() {
		t.Skip("hashes ~25 MB several times")
	}
	fsys := shippedSizeFS(t)
	m, _, _, err := CheckManifestFS(fsys)
	require.NoError(t, err)
	cache := t.TempDir()
	dir, err := extractDefault(fsys, ManifestFile, m, cache)
	require.NoError(t, err)
	files, err := manifestFiles(fsys, ManifestFile, m)
	require.NoError(t, err)
	var total int64
	for _, f := range files {
		total += f.Size
	}
	const runs = 5
	stat := func(f func()) (time.Duration, time.Duration) {
		ds := make([]time.Duration, runs)
		for i := range ds {
			t0 := time.Now()
			f()
			ds[i] = time.Since(t0)
		}
		slices.Sort(ds)
		return ds[0], ds[runs/2]
	}
	keyMin, keyMed := stat(func() {
		_, err := contentKey(fsys, files)
		require.NoError(t, err)
	})
	verMin, verMed := stat(func() { require.True(t, extractionComplete(dir, files)) })
	openMin, openMed := stat(func() {
		d, err := extractDefault(fsys, ManifestFile, m, cache)
		require.NoError(t, err)
		require.Equal(t, dir, d)
	})
	t.Logf("%.1f MB: contentKey min %v median %v; verify (SHA-256 of the extracted files) min %v median %v; whole open check min %v median %v",
		float64(total)/(1<<20), keyMin, keyMed, verMin, verMed, openMin, openMed)
	assert.Less(t, verMin, time.Second)
}
