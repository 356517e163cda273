package tagger

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestORTResolveLibraryOrder(t *testing.T) {
	dir := t.TempDir()
	explicit := filepath.Join(dir, "explicit.so")
	fromEnv := filepath.Join(dir, "env.so")
	for _, p := range []string{explicit, fromEnv} {
		require.NoError(t, os.WriteFile(p, []byte("x"), 0o644))
	}
	t.Setenv(EnvORTLib, fromEnv)
	got, err := ResolveORTLibrary(explicit)
	require.NoError(t, err)
	assert.Equal(t, explicit, got, "option beats environment")
	got, err = ResolveORTLibrary("")
	require.NoError(t, err)
	assert.Equal(t, fromEnv, got)

	t.Setenv(EnvORTLib, filepath.Join(dir, "absent.so"))
	_, err = ResolveORTLibrary("")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "absent.so")
	assert.Contains(t, err.Error(), "make setup")
}

func TestORTFindUpward(t *testing.T) {
	root := t.TempDir()
	lib := filepath.Join(root, filepath.FromSlash(ORTLibRelPath))
	require.NoError(t, os.MkdirAll(filepath.Dir(lib), 0o755))
	require.NoError(t, os.WriteFile(lib, []byte("x"), 0o644))
	deep := filepath.Join(root, "a", "b", "c")
	require.NoError(t, os.MkdirAll(deep, 0o755))
	assert.Equal(t, lib, ortFindUpward(deep, filepath.FromSlash(ORTLibRelPath)))
	assert.Equal(t, "", ortFindUpward(t.TempDir(), filepath.FromSlash(ORTLibRelPath)))
}

func TestORTParseDevice(t *testing.T) {
	for in, want := range map[string]Device{"cpu": DeviceCPU, "": DeviceCPU, "cuda": DeviceCUDA} {
		got, err := ParseDevice(in)
		require.NoError(t, err)
		assert.Equal(t, want, got)
	}
	_, err := ParseDevice("tpu")
	assert.Error(t, err)
	assert.Equal(t, "cuda", DeviceCUDA.String())
}

// TestORTLoadBadLibrary loads a file that is not a shared library in a fresh
// process (the ORT environment is process-global, so this test re-executes
// the test binary) and checks that NewORT returns a clear error.
func TestORTLoadBadLibrary(t *testing.T) {
	if os.Getenv("OPENMED_TEST_BAD_LIB") != "" {
		_, err := NewORT(os.Getenv("OPENMED_TEST_MODEL"), ORTOptions{LibraryPath: os.Getenv("OPENMED_TEST_BAD_LIB")})
		if err == nil {
			os.Exit(3)
		}
		os.Stderr.WriteString("ERR: " + err.Error() + "\n")
		os.Exit(0)
	}
	dir, _ := ortExportFixture(t, "bert")
	bad := filepath.Join(t.TempDir(), "libonnxruntime.so.1")
	require.NoError(t, os.WriteFile(bad, []byte("not an ELF file"), 0o644))
	cmd := exec.Command(os.Args[0], "-test.run=^TestORTLoadBadLibrary$")
	cmd.Env = append(os.Environ(), "OPENMED_TEST_BAD_LIB="+bad, "OPENMED_TEST_MODEL="+dir)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "child must return an error, not crash or succeed:\n%s", out)
	assert.Contains(t, string(out), "ERR: tagger: loading ONNX Runtime from "+bad)
	assert.Contains(t, string(out), "make setup")
}

func TestORTResolveFromLDLibraryPath(t *testing.T) {
	// Away from the repository (working dir and go test's binary both in temp
	// dirs) and without OPENMED_ORT_LIB, the soname in LD_LIBRARY_PATH is found.
	dir := t.TempDir()
	lib := filepath.Join(dir, ortSystemLib)
	require.NoError(t, os.WriteFile(lib, []byte("x"), 0o644))
	t.Setenv(EnvORTLib, "")
	t.Setenv("LD_LIBRARY_PATH", dir)
	t.Chdir(t.TempDir())
	exe, err := os.Executable()
	require.NoError(t, err)
	if ortFindUpward(filepath.Dir(exe), filepath.FromSlash(ORTLibRelPath)) != "" {
		t.Skipf("test binary %s sits under a third_party/onnxruntime; cannot isolate the system search", exe)
	}
	got, err := ResolveORTLibrary("")
	require.NoError(t, err)
	assert.Equal(t, lib, got)
}

func TestShortORTError(t *testing.T) {
	long := errors.New(strings.Repeat("Node (MatMul_12) Op (MatMul) [ShapeInferenceError] Incompatible dimensions ", 80))
	e := shortORTError(long)
	assert.Less(t, len(e.Error()), maxORTMessage+80)
	assert.Contains(t, e.Error(), "cut from")
	assert.True(t, errors.Is(e, long), "the full error stays reachable")
	short := errors.New("file not found")
	assert.Equal(t, "file not found", shortORTError(short).Error())
}
