// Package models embeds the models/ folder of the repository — the default
// tagger's manifest (default.json: LoRA adapters and the DAPT delta of
// bert-base-cased, whose weights come from the encoder cache), the fast
// preset (fast.json: the small encoder pre-trained here and its adapters)
// and the folders they name — so the openmed CLI and libopenmed carry their
// taggers and work from any working directory (see models/README.md).
//
// core/tagger does not import this package (the library stays free of the
// weights): binaries pass FS to tagger.RegisterDefaultFS. While the model
// folders are absent the embedded default.json names folders the FS lacks,
// and tagger.CheckManifestFS reports it as not shipped.
package models

import (
	"embed"
	"io/fs"
)

// files is the models/ tree. The pattern "*" matches every entry of this
// folder that does not start with '.' or '_' (so it compiles while the model
// folders are absent, and picks them up once they exist); matched folders
// are embedded recursively, again without '.'/'_' files such as atomic-write
// temporaries. It also embeds this package's small Go files and README.md.
//
//go:embed *
var files embed.FS

// FS is the embedded models/ tree, default.json at its root.
var FS fs.FS = files
