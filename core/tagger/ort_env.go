package tagger

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"

	ort "github.com/yalue/onnxruntime_go"
)

// EnvORTLib names the environment variable that points at libonnxruntime.so.1.
const EnvORTLib = "OPENMED_ORT_LIB"

// ORTLibRelPath is where scripts/fetch_onnxruntime.sh (run by `make setup`)
// puts ONNX Runtime 1.30.0, relative to the repository root.
const ORTLibRelPath = "third_party/onnxruntime/libonnxruntime.so.1"

// ortSystemLib is the soname the dynamic loader searches for last.
const ortSystemLib = "libonnxruntime.so.1"

// ErrORTNotFound reports that no ONNX Runtime shared library was found.
var ErrORTNotFound = errors.New("tagger: ONNX Runtime library libonnxruntime.so.1 not found: run `make setup` (scripts/fetch_onnxruntime.sh) or set " + EnvORTLib + " to its path")

// ortEnv is the process-global ONNX Runtime environment. ORT allows one
// OrtEnv per process (onnxruntime_go keeps it in a package variable), so it is
// created once, by the first session, from the first library path resolved.
// Unlike a bare sync.Once, a failed initialisation (bad path) can be retried
// with a corrected path; a successful one is final.
var ortEnv struct {
	sync.Mutex
	lib string // library the environment was created from; "" until then
	// sharedArena says the environment holds a registered CPU arena that
	// NewORT's sessions allocate from (session.use_env_allocators).
	sharedArena bool
}

// ResolveORTLibrary finds libonnxruntime.so.1: explicit (an option) first,
// then $OPENMED_ORT_LIB, then <repo>/third_party/onnxruntime/libonnxruntime.so.1
// searched upward from the executable's directory and from the working
// directory, then the system's (libonnxruntime.so.1 in $LD_LIBRARY_PATH,
// /usr/local/lib or /usr/lib[/<triplet>]). An explicit or environment path
// that does not exist is an error naming it; finding nothing is ErrORTNotFound.
func ResolveORTLibrary(explicit string) (string, error) {
	for _, c := range []struct{ path, from string }{{explicit, "option"}, {os.Getenv(EnvORTLib), EnvORTLib}} {
		if c.path == "" {
			continue
		}
		if _, err := os.Stat(c.path); err != nil {
			return "", fmt.Errorf("tagger: ONNX Runtime library %q (from %s): %w; run `make setup` or set %s to libonnxruntime.so.1",
				c.path, c.from, err, EnvORTLib)
		}
		return c.path, nil
	}
	var starts []string
	if exe, err := os.Executable(); err == nil {
		if real, err := filepath.EvalSymlinks(exe); err == nil {
			exe = real
		}
		starts = append(starts, filepath.Dir(exe))
	}
	if wd, err := os.Getwd(); err == nil {
		starts = append(starts, wd)
	}
	for _, s := range starts {
		if p := ortFindUpward(s, filepath.FromSlash(ORTLibRelPath)); p != "" {
			return p, nil
		}
	}
	system := filepath.SplitList(os.Getenv("LD_LIBRARY_PATH"))
	system = append(system, "/usr/local/lib", "/usr/lib", "/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu")
	for _, dir := range system {
		if dir == "" {
			continue
		}
		if p := filepath.Join(dir, ortSystemLib); ortFileExists(p) {
			return p, nil
		}
	}
	return "", ErrORTNotFound
}

// findUpward returns dir/rel for the first ancestor dir of start (inclusive)
// where it exists.
func ortFindUpward(start, rel string) string {
	dir := filepath.Clean(start)
	for {
		if p := filepath.Join(dir, rel); ortFileExists(p) {
			return p
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

func ortFileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}

// InitORT loads ONNX Runtime and creates the process-global environment if
// that has not happened yet, and returns the library path in use. explicit
// (may be "") is resolved with ResolveORTLibrary. A later call naming a
// different library is an error: ORT cannot be reloaded in one process.
// NewORT calls it; callers use it to check availability up front or to run
// their own onnxruntime_go sessions in the same environment.
func InitORT(explicit string) (string, error) { return initORT(explicit) }

func initORT(explicit string) (string, error) {
	ortEnv.Lock()
	defer ortEnv.Unlock()
	if ortEnv.lib != "" {
		if explicit != "" {
			if _, err := ResolveORTLibrary(explicit); err != nil {
				return "", err
			}
		}
		if explicit != "" && !ortSameLib(explicit, ortEnv.lib) {
			return "", fmt.Errorf("tagger: ONNX Runtime already initialised from %s in this process; cannot switch to %s", ortEnv.lib, explicit)
		}
		return ortEnv.lib, nil
	}
	lib, err := ResolveORTLibrary(explicit)
	if err != nil {
		return "", err
	}
	ort.SetSharedLibraryPath(lib)
	if err := ort.InitializeEnvironment(ort.WithLogLevelFatal()); err != nil {
		return "", fmt.Errorf("tagger: loading ONNX Runtime from %s: %w (run `make setup` or set %s)", lib, err, EnvORTLib)
	}
	ortEnv.lib = lib
	ortEnv.sharedArena = registerSharedArena() == nil
	return lib, nil
}

// registerSharedArena registers one CPU arena allocator with the ORT
// environment. Sessions that opt in (session.use_env_allocators = 1, as
// NewORT's do) take their activations from it instead of an arena each: a
// default tagger runs its adapters' sessions one after another, so one
// arena holds the largest of their peaks, not the sum (ORT's "share
// allocator between sessions"; the 4-layer default tagger on a 600 KB
// document: 455 → 324 MB peak RSS with memory patterns off too, identical
// output). A failure leaves each session its own arena.
func registerSharedArena() error {
	mi, err := ort.GetMemoryInfo()
	if err != nil {
		return err
	}
	cfg, err := ort.NewArenaCfg(0, -1, -1, -1) // ORT's defaults
	if err != nil {
		return err
	}
	defer cfg.Destroy()
	return ort.CreateAndRegisterAllocator(mi, cfg)
}

func ortSameLib(a, b string) bool {
	sa, errA := os.Stat(a)
	sb, errB := os.Stat(b)
	if errA != nil || errB != nil {
		return filepath.Clean(a) == filepath.Clean(b)
	}
	return os.SameFile(sa, sb)
}

// ORTVersion is the version string of the loaded ONNX Runtime ("" before the
// first session is created).
func ORTVersion() string {
	ortEnv.Lock()
	defer ortEnv.Unlock()
	if ortEnv.lib == "" {
		return ""
	}
	return ort.GetVersion()
}

// defaultThreads is the intra-op thread count when none is given: one per core.
func ortDefaultThreads() int { return runtime.NumCPU() }
