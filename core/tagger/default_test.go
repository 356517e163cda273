package tagger

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	omcache "github.com/openmed/openmed/core/cache"
	"github.com/openmed/openmed/core/checkpoint"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// standInManifest is the shape of the shipped models/default.json.
const standInManifest = `{"base": "openmed-small-bio",
 "adapters": {"disease": "ncbi-disease-lora", "chemical": "bc5cdr-chem-lora"},
 "tag_with": "all"}`

// standInDefault builds, in a temporary folder, a stand-in for the shipped
// default tagger from the test fixtures: a tiny random BERT encoder as a
// masked-LM base (no id2label, no classifier, as the pre-training job
// writes it), a Disease and a Chemical LoRA adapter whose
// adapter_config.json names ../openmed-small-bio (as the --ship step
// writes them), and default.json. It returns the folder.
func standInDefault(t *testing.T) string {
	t.Helper()
	tiny := tinyBERT(t, tinyLabels, 1)
	dis := tinyAdapter(t, tiny, diseaseLabels, 11)
	chem := tinyAdapter(t, tiny, chemicalLabels, 12)
	root := t.TempDir()
	base := filepath.Join(root, "openmed-small-bio")
	copyDir(t, tiny, base)
	cfg, err := checkpoint.LoadConfig(base)
	require.NoError(t, err)
	cfg.Architectures, cfg.ID2Label, cfg.Label2ID = []string{"BertForMaskedLM"}, nil, nil
	require.NoError(t, cfg.Save(filepath.Join(base, checkpoint.ConfigFile)))
	w, err := checkpoint.ReadSafetensors(filepath.Join(base, checkpoint.SafeWeightsFile))
	require.NoError(t, err)
	delete(w, "classifier.weight")
	delete(w, "classifier.bias")
	require.NoError(t, checkpoint.WriteSafetensors(filepath.Join(base, checkpoint.SafeWeightsFile), w, map[string]string{"format": "pt"}))
	for src, name := range map[string]string{dis: "ncbi-disease-lora", chem: "bc5cdr-chem-lora"} {
		dst := filepath.Join(root, name)
		copyDir(t, src, dst)
		p := filepath.Join(dst, checkpoint.AdapterConfigFile)
		var m map[string]any
		data, err := os.ReadFile(p)
		require.NoError(t, err)
		require.NoError(t, json.Unmarshal(data, &m))
		m["base_model_name_or_path"] = "../openmed-small-bio"
		data, err = json.Marshal(m)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(p, data, 0o644))
	}
	require.NoError(t, os.WriteFile(filepath.Join(root, ManifestFile), []byte(standInManifest), 0o644))
	return root
}

func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	require.NoError(t, os.MkdirAll(dst, 0o755))
	entries, err := os.ReadDir(src)
	require.NoError(t, err)
	for _, e := range entries {
		if e.IsDir() {
			copyDir(t, filepath.Join(src, e.Name()), filepath.Join(dst, e.Name()))
			continue
		}
		data, err := os.ReadFile(filepath.Join(src, e.Name()))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dst, e.Name()), data, 0o644))
	}
}

// isolateDefault clears $OPENMED_MODEL, points $OPENMED_CACHE at a fresh
// folder, works in an empty folder (no models/default.json above it) and
// registers fsys as the embedded default until the test ends.
func isolateDefault(t *testing.T, fsys interface{}) string {
	t.Helper()
	cache := t.TempDir()
	t.Setenv(EnvModel, "")
	t.Setenv(omcache.Env, cache)
	t.Chdir(t.TempDir())
	switch f := fsys.(type) {
	case nil:
		RegisterDefaultFS(nil)
	case fstest.MapFS:
		RegisterDefaultFS(f)
	case string:
		RegisterDefaultFS(os.DirFS(f))
	default:
		t.Fatalf("isolateDefault: %T", fsys)
	}
	t.Cleanup(func() { RegisterDefaultFS(nil) })
	return cache
}

func TestManifestValidate(t *testing.T) {
	m, err := ParseManifest([]byte(standInManifest), "default.json")
	require.NoError(t, err)
	assert.Equal(t, TagWithAll, m.TagWith)
	assert.Equal(t, []string{"chemical", "disease"}, m.AdapterNames())
	assert.Equal(t, []string{"openmed-small-bio", "bc5cdr-chem-lora", "ncbi-disease-lora"}, m.Folders())
	m, err = ParseManifest([]byte(`{"base":"b","adapters":{"x":"a"}}`), "default.json")
	require.NoError(t, err)
	assert.Equal(t, TagWithAll, m.TagWith, "tag_with defaults to all")
	m, err = ParseManifest([]byte(`{"base":"b","adapters":{"x":"a","y":"c"},"tag_with":"y"}`), "default.json")
	require.NoError(t, err)
	assert.Len(t, m.TagOptions(), 1)
	for _, c := range []struct{ json, want string }{
		{`{"base":"b","adapters":{"x":"a"},"extra":1}`, `unknown field "extra"`},
		{`{"adapters":{"x":"a"}}`, "base is empty"},
		{`{"base":"../b","adapters":{"x":"a"}}`, "clean relative path"},
		{`{"base":"/abs","adapters":{"x":"a"}}`, "clean relative path"},
		{`{"base":"b/./c","adapters":{"x":"a"}}`, "clean relative path"},
		{`{"base":"b","adapters":{}}`, "adapters is empty"},
		{`{"base":"b","adapters":{"x":"b"}}`, "also base"},
		{`{"base":"b","adapters":{"x":"a","y":"a"}}`, "is also adapters"},
		{`{"base":"b","adapters":{"":"a"}}`, "empty adapter name"},
		{`{"base":"b","adapters":{"x":"a"},"tag_with":"z"}`, `tag_with "z"`},
		{`[1]`, "default.json"},
		{`{"base":"b","base_encoder":"bert-base-cased","adapters":{"x":"a"}}`, "exclude each other"},
		{`{"base_encoder":"biobert","adapters":{"x":"a"}}`, "not a pinned encoder"},
		{`{"base_encoder":"bert-base-cased","base_adapter":"../d","adapters":{"x":"a"}}`, "base_adapter"},
		{`{"base_encoder":"bert-base-cased","base_adapter":"a","adapters":{"x":"a"}}`, "also base_adapter"},
	} {
		_, err := ParseManifest([]byte(c.json), "default.json")
		require.Error(t, err, c.json)
		assert.Contains(t, err.Error(), c.want, c.json)
		assert.Contains(t, err.Error(), "default.json", "errors name the file")
	}
}

// Save writes what ParseManifest reads back, and refuses an invalid
// manifest without writing.
func TestManifestSaveRoundTrip(t *testing.T) {
	dir := t.TempDir()
	m := &Manifest{BaseEncoder: "bert-base-cased", BaseAdapter: "dapt", Adapters: map[string]string{"gene": "bc2gm", "disease": "ncbi"}}
	require.NoError(t, m.Save(dir))
	b, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	require.NoError(t, err)
	back, err := ParseManifest(b, ManifestFile)
	require.NoError(t, err)
	assert.Equal(t, m, back)
	assert.Equal(t, TagWithAll, back.TagWith)
	bad := &Manifest{Base: "../x", Adapters: map[string]string{"a": "a"}}
	err = bad.Save(t.TempDir())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "clean relative path")
	assert.Contains(t, err.Error(), ManifestFile)
}

// TestDefaultEmbeddedEqualsExplicit: the default tagger from a registered
// FS (extracted into the cache) tags the union of both adapters, and each
// adapter's part equals tagging with that adapter folder opened explicitly
// on the base — on the Go engine and on ONNX Runtime.
func TestDefaultEmbeddedEqualsExplicit(t *testing.T) {
	root := standInDefault(t)
	texts := append(ncbiSentences(t, 12), "Cisplatin-induced nephrotoxicity was observed.", "Famotidine-associated delirium in a patient with renal failure.")
	ctx := context.Background()
	for _, kind := range []BackendKind{BackendEngine, BackendORT} {
		t.Run(kind.String(), func(t *testing.T) {
			if kind == BackendORT {
				ortRequire(t)
			}
			cache := isolateDefault(t, root)
			base := filepath.Join(root, "openmed-small-bio")
			ref := map[string][][]Entity{}
			for name, dir := range map[string]string{"disease": "ncbi-disease-lora", "chemical": "bc5cdr-chem-lora"} {
				tg, err := Open(filepath.Join(root, dir), WithBackend(kind), WithBaseDir(base), WithThreads(1))
				require.NoError(t, err)
				ref[name], err = tg.TagBatch(ctx, texts)
				require.NoError(t, err)
				tg.Close()
			}
			d, err := Open("", WithBackend(kind), WithThreads(1))
			require.NoError(t, err)
			defer d.Close()
			assert.Equal(t, OriginEmbedded, d.Source().Origin)
			assert.Regexp(t, regexp.MustCompile(`^default-[0-9a-f]{12}$`), filepath.Base(d.Source().Dir))
			assert.Equal(t, cache, filepath.Dir(d.Source().Dir), "extracted under $OPENMED_CACHE")
			assert.Equal(t, []string{"chemical", "disease"}, d.Adapters())
			got, err := d.TagBatch(ctx, texts)
			require.NoError(t, err)
			one, err := d.Tag(ctx, texts[0])
			require.NoError(t, err)
			// A text alone and inside a padded batch run other GEMM shapes:
			// the reordering bound, relative to the logits.
			sameEntities(t, got[0], one, scoreTol(t, d, texts, 0), "Tag and TagBatch agree")
			tol := 0.0
			if kind == BackendORT {
				require.NotNil(t, d.shared, "the default tagger's adapters share one ORT session")
				tol = scoreTol(t, d, texts, tinyAdapterRank)
			}
			counts := map[string]int{}
			for i := range texts {
				parts := map[string][]Entity{}
				for _, e := range got[i] {
					require.NotEmpty(t, e.Adapter, "union entities carry their adapter")
					parts[e.Adapter] = append(parts[e.Adapter], e)
					counts[e.Adapter]++
				}
				// The same adapter on the same base over the same batches:
				// bit-identical on the engine; on ORT the default tagger's
				// adapters share one graph that adds each LoRA update apart
				// from the weight (onnx.BuildShared) while an adapter folder
				// opened alone is merged, so the reordering bound with the
				// LoRA path.
				sameEntities(t, ref["disease"][i], parts["disease"], tol, "disease part")
				sameEntities(t, ref["chemical"][i], parts["chemical"], tol, "chemical part")
			}
			assert.Positive(t, counts["disease"], "the union has Disease entities")
			assert.Positive(t, counts["chemical"], "the union has Chemical entities")
			// An explicit option still selects one adapter.
			dis, err := d.TagBatch(ctx, texts, WithAdapter("disease"))
			require.NoError(t, err)
			for i := range texts {
				sameEntities(t, ref["disease"][i], dis[i], tol, "WithAdapter(disease)") // same head and batches
			}
		})
	}
}

// TestDefaultUse: WithUse opens only the named adapters of the default
// tagger, which then tag alone (on ORT a single merged session instead of
// the shared one), with the entities of that adapter opened explicitly; an
// unknown name is an error naming the manifest's adapters.
func TestDefaultUse(t *testing.T) {
	root := standInDefault(t)
	texts := append(ncbiSentences(t, 8), "Cisplatin-induced nephrotoxicity was observed.")
	ctx := context.Background()
	for _, kind := range []BackendKind{BackendEngine, BackendORT} {
		t.Run(kind.String(), func(t *testing.T) {
			if kind == BackendORT {
				ortRequire(t)
			}
			isolateDefault(t, root)
			tg, err := Open(filepath.Join(root, "bc5cdr-chem-lora"), WithBackend(kind), WithBaseDir(filepath.Join(root, "openmed-small-bio")), WithThreads(1))
			require.NoError(t, err)
			ref, err := tg.TagBatch(ctx, texts)
			require.NoError(t, err)
			tg.Close()
			d, err := Open("", WithBackend(kind), WithThreads(1), WithUse("chemical"))
			require.NoError(t, err)
			defer d.Close()
			assert.Equal(t, []string{"chemical"}, d.Adapters())
			assert.Nil(t, d.shared, "one adapter: no shared session")
			got, err := d.TagBatch(ctx, texts)
			require.NoError(t, err)
			n := 0
			for i := range texts {
				sameEntities(t, ref[i], got[i], 0, "chemical alone")
				n += len(got[i])
			}
			assert.Positive(t, n)
			_, err = Open("", WithBackend(kind), WithUse("nope"))
			require.Error(t, err)
			assert.Contains(t, err.Error(), `no adapter named "nope" (has [chemical disease])`)
		})
	}
}

// TestDefaultExtractOnce: the embedded files are extracted once (a second
// open reuses the folder untouched); a truncated file or a missing marker
// is detected and re-extracted; concurrent extractions agree.
func TestDefaultExtractOnce(t *testing.T) {
	root := standInDefault(t)
	cache := isolateDefault(t, root)
	open := func() string {
		d, err := Open("", WithBackend(BackendEngine))
		require.NoError(t, err)
		ents, err := d.Tag(context.Background(), "Cisplatin-induced nephrotoxicity was observed.")
		require.NoError(t, err)
		require.NotNil(t, ents)
		require.NoError(t, d.Close())
		return d.Source().Dir
	}
	dir := open()
	weights := filepath.Join(dir, "openmed-small-bio", checkpoint.SafeWeightsFile)
	fi1, err := os.Stat(weights)
	require.NoError(t, err)
	marker1, err := os.Stat(filepath.Join(dir, extractedMarker))
	require.NoError(t, err)

	assert.Equal(t, dir, open(), "second open: same folder")
	fi2, err := os.Stat(weights)
	require.NoError(t, err)
	marker2, err := os.Stat(filepath.Join(dir, extractedMarker))
	require.NoError(t, err)
	assert.True(t, os.SameFile(fi1, fi2), "weights not rewritten")
	assert.Equal(t, marker1.ModTime(), marker2.ModTime(), "marker not rewritten")
	entries, err := os.ReadDir(cache)
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	assert.Equal(t, []string{filepath.Base(dir)}, names, "one extraction, no temporaries left")

	// A partial copy (truncated weights) is detected and replaced.
	require.NoError(t, os.Truncate(weights, fi1.Size()/2))
	assert.Equal(t, dir, open())
	fi3, err := os.Stat(weights)
	require.NoError(t, err)
	assert.Equal(t, fi1.Size(), fi3.Size(), "re-extracted")
	want, err := os.ReadFile(filepath.Join(root, "openmed-small-bio", checkpoint.SafeWeightsFile))
	require.NoError(t, err)
	got, err := os.ReadFile(weights)
	require.NoError(t, err)
	assert.Equal(t, want, got)

	// An interrupted extraction (no marker, a file missing) is replaced.
	require.NoError(t, os.Remove(filepath.Join(dir, extractedMarker)))
	require.NoError(t, os.Remove(filepath.Join(dir, "bc5cdr-chem-lora", checkpoint.AdapterConfigFile)))
	assert.Equal(t, dir, open())
	assert.FileExists(t, filepath.Join(dir, "bc5cdr-chem-lora", checkpoint.AdapterConfigFile))
	assert.FileExists(t, filepath.Join(dir, extractedMarker))

	// Concurrent first extractions into a fresh cache all succeed on one folder.
	fresh := t.TempDir()
	m, err := ParseManifest([]byte(standInManifest), ManifestFile)
	require.NoError(t, err)
	var wg sync.WaitGroup
	dirs, errs := make([]string, 4), make([]error, 4)
	for i := range dirs {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			dirs[i], errs[i] = extractDefault(os.DirFS(root), ManifestFile, m, fresh)
		}(i)
	}
	wg.Wait()
	for i := range dirs {
		require.NoError(t, errs[i])
		assert.Equal(t, filepath.Join(fresh, filepath.Base(dir)), dirs[i], "same content, same key")
	}
	entries, err = os.ReadDir(fresh)
	require.NoError(t, err)
	assert.Len(t, entries, 1, "no temporaries left")
}

// TestDefaultMissingFolders: a manifest naming an absent adapter folder is
// an error naming it ($OPENMED_MODEL, Open), and an embedded FS with only
// some folders is not used; without any manifest, ErrNoDefaultModel.
func TestDefaultMissingFolders(t *testing.T) {
	root := standInDefault(t)
	require.NoError(t, os.RemoveAll(filepath.Join(root, "bc5cdr-chem-lora")))
	isolateDefault(t, root)
	_, err := Open("", WithBackend(BackendEngine))
	require.ErrorIs(t, err, ErrNoDefaultModel, "an incomplete embedded default is not used")
	assert.Contains(t, err.Error(), "bc5cdr-chem-lora")

	t.Setenv(EnvModel, root)
	_, err = Open("", WithBackend(BackendEngine))
	require.Error(t, err)
	assert.Contains(t, err.Error(), filepath.Join(root, "bc5cdr-chem-lora"))
	assert.Contains(t, err.Error(), `adapters["chemical"]`)
	_, err = Open(root, WithBackend(BackendEngine))
	assert.ErrorContains(t, err, "bc5cdr-chem-lora")

	isolateDefault(t, fstest.MapFS{})
	_, err = Open("")
	assert.ErrorIs(t, err, ErrNoDefaultModel)
	isolateDefault(t, nil)
	_, err = Open("")
	assert.ErrorIs(t, err, ErrNoDefaultModel)

	// default.json without its folders (the repository before the models are
	// shipped): not shipped, said so.
	isolateDefault(t, fstest.MapFS{ManifestFile: {Data: []byte(standInManifest)}})
	_, err = Open("")
	require.ErrorIs(t, err, ErrNoDefaultModel)
	assert.Contains(t, err.Error(), "not shipped")
	_, st, miss, err := CheckManifestFS(fstest.MapFS{ManifestFile: {Data: []byte(standInManifest)}})
	require.NoError(t, err)
	assert.Equal(t, ManifestNotShipped, st)
	assert.Len(t, miss, 3)

	// A broken embedded manifest is an error naming the file, not a fallback.
	isolateDefault(t, fstest.MapFS{ManifestFile: {Data: []byte(`{"base": 1}`)}})
	_, err = Open("")
	require.Error(t, err)
	assert.NotErrorIs(t, err, ErrNoDefaultModel)
	assert.Contains(t, err.Error(), ManifestFile)
}

// TestDefaultResolutionOrder: $OPENMED_MODEL beats the embedded default, a
// model folder there opens as before, and models/default.json on disk above
// the working directory is found when nothing is embedded.
func TestDefaultResolutionOrder(t *testing.T) {
	root := standInDefault(t)
	isolateDefault(t, root)
	t.Setenv(EnvModel, filepath.Join(root, "ncbi-disease-lora"))
	d, err := Open("", WithBackend(BackendEngine), WithBaseDir(filepath.Join(root, "openmed-small-bio")))
	require.NoError(t, err)
	assert.Equal(t, OriginEnv, d.Source().Origin)
	assert.Nil(t, d.Source().Manifest)
	assert.Nil(t, d.DefaultTagOptions())
	assert.Equal(t, diseaseLabels, d.Labels())
	d.Close()
	dir, err := DefaultModelDir()
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(root, "ncbi-disease-lora"), dir)

	t.Setenv(EnvModel, root)
	d, err = Open("", WithBackend(BackendEngine))
	require.NoError(t, err)
	assert.Equal(t, OriginEnv, d.Source().Origin)
	assert.Equal(t, root, d.Source().Dir)
	d.Close()
	_, err = DefaultModelDir()
	assert.ErrorIs(t, err, ErrDefaultIsManifest)

	// On disk: <wd parent>/models/default.json, nothing embedded.
	isolateDefault(t, nil)
	repo := t.TempDir()
	copyDir(t, root, filepath.Join(repo, "models"))
	sub := filepath.Join(repo, "a", "b")
	require.NoError(t, os.MkdirAll(sub, 0o755))
	t.Chdir(sub)
	d, err = Open("", WithBackend(BackendEngine))
	require.NoError(t, err)
	assert.Equal(t, OriginDisk, d.Source().Origin)
	assert.Equal(t, filepath.Join(repo, "models"), d.Source().Dir)
	d.Close()

	d, err = Open(root, WithBackend(BackendEngine))
	require.NoError(t, err)
	assert.Equal(t, OriginExplicit, d.Source().Origin)
	assert.Len(t, d.DefaultTagOptions(), 1)
	d.Close()
	assert.False(t, strings.HasPrefix(d.Source().Dir, os.Getenv(omcache.Env)), "an explicit manifest folder is not copied")
}

// TestPresets: a preset is another manifest beside default.json, opened by
// name from the embedded models (extracted into its own cache folder) or
// from models/ on disk; an unknown name says it is neither a folder nor a
// preset, and a local folder of that name wins over the preset.
func TestPresets(t *testing.T) {
	root := standInDefault(t)
	require.NoError(t, os.WriteFile(filepath.Join(root, PresetFile("fast")),
		[]byte(`{"base": "openmed-small-bio", "adapters": {"disease": "ncbi-disease-lora"}, "tag_with": "all"}`), 0o644))
	ctx := context.Background()
	text := "Cisplatin-induced nephrotoxicity was observed."

	cache := isolateDefault(t, root)
	fast, err := Open("fast", WithBackend(BackendEngine))
	require.NoError(t, err)
	assert.Equal(t, OriginEmbedded, fast.Source().Origin)
	assert.Regexp(t, regexp.MustCompile(`^fast-[0-9a-f]{12}$`), filepath.Base(fast.Source().Dir))
	assert.Equal(t, cache, filepath.Dir(fast.Source().Dir))
	assert.Equal(t, []string{"disease"}, fast.Adapters())
	got, err := fast.Tag(ctx, text)
	require.NoError(t, err)
	fast.Close()
	def, err := Open("default", WithBackend(BackendEngine))
	require.NoError(t, err)
	assert.Equal(t, []string{"chemical", "disease"}, def.Adapters(), "\"default\" is default.json")
	all, err := def.Tag(ctx, text)
	require.NoError(t, err)
	def.Close()
	var dis []Entity
	for _, e := range all {
		if e.Adapter == "disease" {
			e.Adapter = ""
			dis = append(dis, e)
		}
	}
	sameEntities(t, dis, got, 0, "the fast preset's disease adapter is the default's")

	_, err = Open("nonesuch", WithBackend(BackendEngine))
	require.Error(t, err)
	assert.Contains(t, err.Error(), `"nonesuch" is neither a model folder nor a preset`)
	assert.Contains(t, err.Error(), "nonesuch.json")

	// On disk: models/fast.json above the working directory.
	isolateDefault(t, nil)
	work := t.TempDir()
	require.NoError(t, os.Symlink(root, filepath.Join(work, "models")))
	sub := filepath.Join(work, "sub")
	require.NoError(t, os.MkdirAll(sub, 0o755))
	t.Chdir(sub)
	disk, err := Open("fast", WithBackend(BackendEngine))
	require.NoError(t, err)
	assert.Equal(t, OriginDisk, disk.Source().Origin)
	disk.Close()
	// A folder named like a preset in the working directory is a model folder.
	require.NoError(t, os.Mkdir(filepath.Join(sub, "fast"), 0o755))
	_, err = Open("fast", WithBackend(BackendEngine))
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "preset")
}

// TestManifestUse: use keeps the manifest's order whatever the order asked,
// all adapters when none is named, and names the manifest's adapters when
// one is unknown.
func TestManifestUse(t *testing.T) {
	m := &Manifest{Adapters: map[string]string{"gene": "g", "chemical": "c", "disease": "d"}}
	got, err := m.use(nil)
	require.NoError(t, err)
	assert.Equal(t, []string{"chemical", "disease", "gene"}, got)
	got, err = m.use([]string{"gene", "chemical"})
	require.NoError(t, err)
	assert.Equal(t, []string{"chemical", "gene"}, got)
	_, err = m.use([]string{"gene", "species"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), `no adapter named "species" (has [chemical disease gene])`)
}
