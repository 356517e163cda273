package onnx

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/openmed/openmed/core/checkpoint"
	"github.com/openmed/openmed/core/tokenize"
)

// ModelPath is where the graph goes inside an exported folder: HF Optimum and
// transformers.js read "<repo>/onnx/model.onnx" next to config.json.
const ModelPath = checkpoint.ONNXModelPath

// ExportOptions tune Export. The zero value is valid.
type ExportOptions struct {
	// ProducerVersion is written to ModelProto.producer_version (default "dev").
	ProducerVersion string
	// Aggregation, when set, is recorded in the exported config.json as
	// task_specific_params["token-classification"]["aggregation_strategy"]
	// (HF's per-task defaults field): the strategy consistent with training
	// for clients that read it (transformers.js 4.3 implements only none and
	// simple and reads no default, so its users pass it themselves).
	Aggregation string
}

// ExportResult describes what Export wrote.
type ExportResult struct {
	// ModelFile is the path of the written model.onnx.
	ModelFile string
	// Copied lists the files copied next to it (config.json first).
	Copied []string
	// Bytes is the size of model.onnx.
	Bytes int64
	// Nodes and Initializers count the graph's nodes and weights.
	Nodes, Initializers int
}

// Export reads a Hugging Face token-classification folder (config.json and
// model.safetensors / pytorch_model.bin, e.g. a merged LoRA model) and writes
// outDir/onnx/model.onnx plus config.json and the tokenizer files, the layout
// HF Optimum's ORTModelForTokenClassification and transformers.js load.
func Export(modelDir, outDir string, opts ExportOptions) (*ExportResult, error) {
	cfg, err := checkpoint.LoadConfig(modelDir)
	if err != nil {
		return nil, fmt.Errorf("onnx export: %w", err)
	}
	state, err := checkpoint.LoadWeights(modelDir)
	if err != nil {
		return nil, fmt.Errorf("onnx export: %w", err)
	}
	b, err := BuildTokenClassifier(cfg, state)
	if err != nil {
		return nil, fmt.Errorf("onnx export of %s: %w", modelDir, err)
	}
	version := opts.ProducerVersion
	if version == "" {
		version = "dev"
	}
	m, err := b.Model("openmed", version, KeyValue{Key: "model_type", Value: string(cfg.ModelType)})
	if err != nil {
		return nil, fmt.Errorf("onnx export of %s: %w", modelDir, err)
	}
	res := &ExportResult{
		ModelFile: filepath.Join(outDir, filepath.FromSlash(ModelPath)),
		Bytes:     m.Size(), Nodes: len(m.Graph.Nodes), Initializers: len(m.Graph.Initializers),
	}
	if err := WriteModel(res.ModelFile, m); err != nil {
		return nil, fmt.Errorf("onnx export of %s: %w", modelDir, err)
	}
	// config.json and the tokenizer files (tokenize.Files), so the export is
	// self-contained for transformers.js / Optimum.
	for _, name := range append([]string{checkpoint.ConfigFile}, tokenize.Files...) {
		src, dst := filepath.Join(modelDir, name), filepath.Join(outDir, name)
		copied, err := copyIfPresent(src, dst)
		if err != nil {
			return nil, fmt.Errorf("onnx export: %w", err)
		}
		if copied {
			res.Copied = append(res.Copied, dst)
		}
	}
	if opts.Aggregation != "" {
		out, err := checkpoint.LoadConfig(outDir)
		if err != nil {
			return nil, fmt.Errorf("onnx export: %w", err)
		}
		if err := out.SetRaw("task_specific_params", map[string]any{
			"token-classification": map[string]string{"aggregation_strategy": opts.Aggregation}}); err != nil {
			return nil, fmt.Errorf("onnx export: %w", err)
		}
		if err := out.Save(outDir); err != nil {
			return nil, fmt.Errorf("onnx export: %w", err)
		}
	}
	return res, nil
}

// WriteModel streams m to path atomically (temp file, fsync, rename). Models
// above protobuf's 2 GiB limit are refused: they would need ONNX external
// data, which openmed does not write yet.
func WriteModel(path string, m *Model) error {
	if size := m.Size(); size > MaxProtoSize {
		return fmt.Errorf("write %s: model is %d bytes, above protobuf's 2 GiB limit (ONNX external data is not supported)", path, size)
	}
	return writeFileAtomic(path, func(w io.Writer) error {
		bw := bufio.NewWriterSize(w, 1<<20)
		if _, err := m.WriteTo(bw); err != nil {
			return err
		}
		return bw.Flush()
	})
}

// writeFileAtomic writes a temp file in path's directory with write, fsyncs
// it and renames it over path, so readers never see a partial file.
func writeFileAtomic(path string, write func(io.Writer) error) (err error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err = write(f); err != nil {
		return fmt.Errorf("write %s: %w", tmp, err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("fsync %s: %w", tmp, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", tmp, err)
	}
	if err = os.Chmod(tmp, 0o644); err != nil {
		return fmt.Errorf("chmod %s: %w", tmp, err)
	}
	if err = os.Rename(tmp, path); err != nil {
		return fmt.Errorf("rename %s: %w", path, err)
	}
	return nil
}

// copyIfPresent copies src to dst (atomically) when src exists and is not dst.
func copyIfPresent(src, dst string) (bool, error) {
	in, err := os.Open(src)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	defer in.Close()
	if same, _ := sameFile(src, dst); same {
		return true, nil
	}
	data, err := io.ReadAll(in)
	if err != nil {
		return false, fmt.Errorf("read %s: %w", src, err)
	}
	return true, writeFileAtomic(dst, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

func sameFile(a, b string) (bool, error) {
	sa, err := os.Stat(a)
	if err != nil {
		return false, err
	}
	sb, err := os.Stat(b)
	if err != nil {
		return false, err
	}
	return os.SameFile(sa, sb), nil
}
