package tagger

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

// extractedMarker is written last into an extracted default tagger folder:
// the list of files with their sizes and SHA-256 digests, as extracted. A
// folder without it, whose marker differs from the embedded files (an older
// marker without digests included), or whose files differ from it in
// presence, size or digest, is a partial or corrupted extraction.
const extractedMarker = ".openmed-extracted.json"

// extractedFile is one entry of extractedMarker.
type extractedFile struct {
	Path string `json:"path"`
	Size int64  `json:"size"`
	// SHA256 is the hex SHA-256 of the file's bytes.
	SHA256 string `json:"sha256"`
}

// manifestFiles lists the regular files the manifest needs from fsys: the
// manifest file itself and every file under its folders, sorted by path.
func manifestFiles(fsys fs.FS, file string, m *Manifest) ([]extractedFile, error) {
	var out []extractedFile
	fi, err := fs.Stat(fsys, file)
	if err != nil {
		return nil, err
	}
	out = append(out, extractedFile{Path: file, Size: fi.Size()})
	for _, dir := range m.Folders() {
		err := fs.WalkDir(fsys, dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.Type().IsRegular() {
				return nil
			}
			info, err := d.Info()
			if err != nil {
				return err
			}
			out = append(out, extractedFile{Path: p, Size: info.Size()})
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

// contentKey sets each file's SHA256 (hashing fsys's bytes once) and
// returns the first 12 hex digits of a sha256 over the files' paths, sizes
// and digests: the embedded default tagger's identity (a new build with
// other models gets another cache folder).
func contentKey(fsys fs.FS, files []extractedFile) (string, error) {
	buf := make([]byte, hashBuf)
	fh := sha256.New()
	for i, f := range files {
		r, err := fsys.Open(f.Path)
		if err != nil {
			return "", err
		}
		fh.Reset()
		_, err = io.CopyBuffer(fh, r, buf)
		r.Close()
		if err != nil {
			return "", err
		}
		files[i].SHA256 = hex.EncodeToString(fh.Sum(nil))
	}
	h := sha256.New()
	for _, f := range files {
		fmt.Fprintf(h, "%s\x00%d\x00%s\x00", f.Path, f.Size, f.SHA256)
	}
	return hex.EncodeToString(h.Sum(nil))[:12], nil
}

// hashBuf is the read size for hashing (fewer syscalls than io.Copy's 32 KiB).
const hashBuf = 1 << 20

// fileSHA256 is the hex SHA-256 of a file's bytes.
func fileSHA256(name string, buf []byte) (string, error) {
	f, err := os.Open(name)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.CopyBuffer(h, f, buf); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// extractionComplete reports whether dir holds exactly files: its marker
// lists the same paths, sizes and digests, and every file is present, of
// its size and of its SHA-256. Every file is read and hashed on each open:
// for the shipped default's ~24 MB that measured ~22 ms of CPU with the
// SHA-NI instructions (~75 ms without), the same as contentKey's pass over
// the embedded bytes; see TestDefaultVerifyCost.
func extractionComplete(dir string, files []extractedFile) bool {
	data, err := os.ReadFile(filepath.Join(dir, extractedMarker))
	if err != nil {
		return false
	}
	var got []extractedFile
	if json.Unmarshal(data, &got) != nil || len(got) != len(files) {
		return false
	}
	for i, f := range files {
		if got[i] != f || f.SHA256 == "" {
			return false
		}
		fi, err := os.Stat(filepath.Join(dir, filepath.FromSlash(f.Path)))
		if err != nil || !fi.Mode().IsRegular() || fi.Size() != f.Size {
			return false
		}
	}
	// Sizes first (cheap, catches truncation), then the bytes.
	buf := make([]byte, hashBuf)
	for _, f := range files {
		sum, err := fileSHA256(filepath.Join(dir, filepath.FromSlash(f.Path)), buf)
		if err != nil || sum != f.SHA256 {
			return false
		}
	}
	return true
}

// extractDefault copies the manifest and its folders from fsys to
// root/default-<contentKey> once and returns that folder. It extracts into a
// temporary sibling and renames it into place, so a reader never sees a
// partial folder and concurrent processes are safe (the loser of the rename
// race uses the winner's copy). A partial or corrupted folder (missing
// marker, missing, resized or altered file: the SHA-256 of every file is
// checked against the marker on each open) is moved aside and replaced.
//
// file is the manifest's name in fsys (ManifestFile, or a PresetFile, whose
// folder is named <preset>-<contentKey>).
func extractDefault(fsys fs.FS, file string, m *Manifest, root string) (string, error) {
	files, err := manifestFiles(fsys, file, m)
	if err != nil {
		return "", fmt.Errorf("tagger: embedded default tagger: %w", err)
	}
	key, err := contentKey(fsys, files)
	if err != nil {
		return "", fmt.Errorf("tagger: embedded default tagger: %w", err)
	}
	prefix := "default-"
	if file != ManifestFile {
		prefix = strings.TrimSuffix(file, ".json") + "-"
	}
	out := filepath.Join(root, prefix+key)
	if extractionComplete(out, files) {
		return out, nil
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		return "", fmt.Errorf("tagger: default tagger cache: %w", err)
	}
	tmp, err := os.MkdirTemp(root, ".tmp-default-"+key+"-")
	if err != nil {
		return "", fmt.Errorf("tagger: default tagger cache: %w", err)
	}
	defer os.RemoveAll(tmp)
	for _, f := range files {
		sum, err := copyFromFS(fsys, f.Path, filepath.Join(tmp, filepath.FromSlash(f.Path)))
		if err != nil {
			return "", fmt.Errorf("tagger: extract default tagger to %s: %w", tmp, err)
		}
		if sum != f.SHA256 {
			return "", fmt.Errorf("tagger: extract default tagger: %s changed while it was being extracted", f.Path)
		}
	}
	marker, err := json.MarshalIndent(files, "", " ")
	if err != nil {
		return "", err
	}
	if err := writeSynced(filepath.Join(tmp, extractedMarker), marker); err != nil {
		return "", fmt.Errorf("tagger: extract default tagger: %w", err)
	}
	if _, err := os.Stat(out); err == nil && !extractionComplete(out, files) {
		// Partial or corrupted: move it aside (atomic), then delete it.
		stale, err := os.MkdirTemp(root, ".stale-default-"+key+"-")
		if err != nil {
			return "", fmt.Errorf("tagger: default tagger cache: %w", err)
		}
		aside := filepath.Join(stale, "old")
		if err := os.Rename(out, aside); err != nil && !os.IsNotExist(err) {
			os.RemoveAll(stale)
			return "", fmt.Errorf("tagger: replace corrupted default tagger cache %s: %w", out, err)
		}
		os.RemoveAll(stale)
	}
	if err := os.Rename(tmp, out); err != nil {
		// Another process renamed its copy first: use it if it is whole.
		if extractionComplete(out, files) {
			return out, nil
		}
		return "", fmt.Errorf("tagger: default tagger cache: %w", err)
	}
	return out, nil
}

// copyFromFS copies one file out of fsys, creating parent folders, and
// returns the hex SHA-256 of the bytes written.
func copyFromFS(fsys fs.FS, name, dst string) (string, error) {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return "", err
	}
	r, err := fsys.Open(name)
	if err != nil {
		return "", err
	}
	defer r.Close()
	w, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	if _, err := io.Copy(io.MultiWriter(w, h), r); err != nil {
		w.Close()
		return "", fmt.Errorf("%s: %w", path.Clean(name), err)
	}
	if err := w.Sync(); err != nil {
		w.Close()
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), w.Close()
}

// writeSynced writes data to a new file and syncs it.
func writeSynced(name string, data []byte) error {
	w, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := w.Write(data); err != nil {
		w.Close()
		return err
	}
	if err := w.Sync(); err != nil {
		w.Close()
		return err
	}
	return w.Close()
}
