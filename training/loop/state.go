package loop

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/openmed/openmed/core/checkpoint"
	"github.com/openmed/openmed/core/tensor"
	"github.com/openmed/openmed/training/optim"
)

// Checkpoint layout inside Config.Dir:
//
//	checkpoints/step-00000123/state.json          loop position, best, patience, history
//	checkpoints/step-00000123/trainable.safetensors  trainable weights (LoRA + classifier, or all)
//	checkpoints/step-00000123/optimizer.safetensors  AdamW moments and step
//	checkpoints/step-00000123/best.safetensors       best-so-far trainable weights
//	checkpoints/latest.json                         manifest naming the folder, written last
//
// A folder is written under a temporary name and renamed into place, then
// the manifest is replaced atomically, then older folders are removed, so a
// crash at any point leaves a complete checkpoint that latest.json names.
const (
	checkpointsDir = "checkpoints"
	manifestFile   = "latest.json"
	stateFile      = "state.json"
	trainableFile  = "trainable.safetensors"
	optimizerFile  = "optimizer.safetensors"
	bestFile       = "best.safetensors"
)

type manifest struct {
	Checkpoint string `json:"checkpoint"`
	Step       int    `json:"step"`
}

func (l *Loop) checkpointRoot() string { return filepath.Join(l.cfg.Dir, checkpointsDir) }

func paramMap(ps []*tensor.Param) map[string]*tensor.Tensor {
	m := make(map[string]*tensor.Tensor, len(ps))
	for _, p := range ps {
		m[p.Name] = p.Value
	}
	return m
}

// checkpoint writes the loop's resumable state atomically.
func (l *Loop) checkpoint(wall0 float64, start time.Time, progress func(Progress)) error {
	root := l.checkpointRoot()
	if err := os.MkdirAll(root, 0o755); err != nil {
		return err
	}
	if err := l.log.Sync(); err != nil {
		return fmt.Errorf("metrics.jsonl: %w", err)
	}
	name := fmt.Sprintf("step-%08d", l.st.Step)
	tmp, err := os.MkdirTemp(root, ".tmp-"+name+"-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	st := l.st
	st.WallSeconds = wall0 + time.Since(start).Seconds()
	if err := checkpoint.WriteSafetensors(filepath.Join(tmp, trainableFile), paramMap(l.params), nil); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	if err := optim.SaveState(filepath.Join(tmp, optimizerFile), l.opt.State()); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	if l.best != nil {
		bm := make(map[string]*tensor.Tensor, len(l.best))
		for _, p := range l.params {
			bm[p.Name] = &tensor.Tensor{Shape: p.Value.Shape, Data: l.best[p.Name]}
		}
		if err := checkpoint.WriteSafetensors(filepath.Join(tmp, bestFile), bm, nil); err != nil {
			return fmt.Errorf("checkpoint: %w", err)
		}
	}
	sb, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	if err := checkpoint.WriteFileAtomic(filepath.Join(tmp, stateFile), sb); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	final := filepath.Join(root, name)
	if err := os.RemoveAll(final); err != nil {
		return err
	}
	if err := os.Rename(tmp, final); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	if d, err := os.Open(root); err == nil {
		_ = d.Sync()
		d.Close()
	}
	mb, _ := json.Marshal(manifest{Checkpoint: name, Step: l.st.Step})
	if err := checkpoint.WriteFileAtomic(filepath.Join(root, manifestFile), mb); err != nil {
		return fmt.Errorf("checkpoint manifest: %w", err)
	}
	pruneCheckpoints(root, name)
	progress(Progress{Phase: PhaseCheckpoint, Checkpoint: final})
	return nil
}

// LatestCheckpoint returns the folder named by dir's checkpoint manifest.
func LatestCheckpoint(dir string) (string, error) {
	m, _, err := readManifest(dir)
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, checkpointsDir, m.Checkpoint), nil
}

// LatestStep returns the optimiser step of dir's latest complete checkpoint.
func LatestStep(dir string) (int, error) {
	m, _, err := readManifest(dir)
	return m.Step, err
}

// readManifest reads and checks dir's checkpoint manifest, returning it
// parsed and as written.
func readManifest(dir string) (manifest, []byte, error) {
	root := filepath.Join(dir, checkpointsDir)
	b, err := os.ReadFile(filepath.Join(root, manifestFile))
	if err != nil {
		if os.IsNotExist(err) {
			return manifest{}, nil, fmt.Errorf("%s: no checkpoint to resume from (%s missing)", dir, filepath.Join(checkpointsDir, manifestFile))
		}
		return manifest{}, nil, err
	}
	var m manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return manifest{}, nil, fmt.Errorf("%s: %w", filepath.Join(root, manifestFile), err)
	}
	if m.Checkpoint == "" || strings.ContainsAny(m.Checkpoint, `/\`) {
		return manifest{}, nil, fmt.Errorf("%s: bad checkpoint name %q", filepath.Join(root, manifestFile), m.Checkpoint)
	}
	return m, b, nil
}

// CopyLatestCheckpoint copies what resuming the run in folder src needs —
// its latest complete checkpoint (the folder checkpoints/latest.json names,
// then the manifest) and metrics.jsonl, which a resume truncates to the
// checkpoint's length — into folder dst, so the run resumes there (another
// machine, an archive) exactly as it would have in src. It returns the
// checkpoint's step. The folder is copied under a temporary name and renamed
// into place and the manifest written last, as checkpoint writes them.
func CopyLatestCheckpoint(src, dst string) (int, error) {
	m, mb, err := readManifest(src)
	if err != nil {
		return 0, err
	}
	ck := filepath.Join(src, checkpointsDir, m.Checkpoint)
	root := filepath.Join(dst, checkpointsDir)
	if err := os.MkdirAll(root, 0o755); err != nil {
		return 0, err
	}
	tmp, err := os.MkdirTemp(root, ".copy-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(tmp)
	for _, f := range []string{stateFile, trainableFile, optimizerFile, bestFile} {
		b, err := os.ReadFile(filepath.Join(ck, f))
		if os.IsNotExist(err) && f == bestFile {
			continue // no evaluation yet
		}
		if err != nil {
			return 0, fmt.Errorf("copy checkpoint: %w", err)
		}
		if err := os.WriteFile(filepath.Join(tmp, f), b, 0o644); err != nil {
			return 0, err
		}
	}
	if err := os.RemoveAll(filepath.Join(root, m.Checkpoint)); err != nil {
		return 0, err
	}
	if err := os.Rename(tmp, filepath.Join(root, m.Checkpoint)); err != nil {
		return 0, err
	}
	log, err := os.ReadFile(filepath.Join(src, "metrics.jsonl"))
	if err != nil {
		return 0, fmt.Errorf("copy checkpoint: %w", err)
	}
	if err := checkpoint.WriteFileAtomic(filepath.Join(dst, "metrics.jsonl"), log); err != nil {
		return 0, err
	}
	if err := checkpoint.WriteFileAtomic(filepath.Join(root, manifestFile), mb); err != nil {
		return 0, err
	}
	pruneCheckpoints(root, m.Checkpoint)
	return m.Step, nil
}

// pruneCheckpoints removes the checkpoint folders under root other than keep
// (older steps, unfinished temporary copies), once the manifest names keep.
func pruneCheckpoints(root, keep string) {
	entries, _ := os.ReadDir(root)
	for _, e := range entries {
		if e.IsDir() && e.Name() != keep && (strings.HasPrefix(e.Name(), "step-") || strings.HasPrefix(e.Name(), ".tmp-") || strings.HasPrefix(e.Name(), ".copy-")) {
			_ = os.RemoveAll(filepath.Join(root, e.Name()))
		}
	}
}

// restore loads the latest checkpoint into the loop.
func (l *Loop) restore() error {
	dir, err := LatestCheckpoint(l.cfg.Dir)
	if err != nil {
		return err
	}
	sb, err := os.ReadFile(filepath.Join(dir, stateFile))
	if err != nil {
		return err
	}
	var st loopState
	if err := json.Unmarshal(sb, &st); err != nil {
		return fmt.Errorf("%s: %w", filepath.Join(dir, stateFile), err)
	}
	if st.Version != stateVersion {
		return fmt.Errorf("%s: state version %d, this build reads %d", filepath.Join(dir, stateFile), st.Version, stateVersion)
	}
	if d := l.st.Spec.diff(st.Spec); len(d) > 0 {
		return fmt.Errorf("%s: cannot resume with different settings: %s", dir, strings.Join(d, "; "))
	}
	if st.Done {
		return fmt.Errorf("%s: the run already finished (%d epochs, %d steps): nothing to resume", l.cfg.Dir, st.Epoch, st.Step)
	}
	if err := loadInto(filepath.Join(dir, trainableFile), l.params); err != nil {
		return err
	}
	os_, err := optim.LoadStateFile(filepath.Join(dir, optimizerFile))
	if err != nil {
		return err
	}
	if err := l.opt.LoadState(os_); err != nil {
		return fmt.Errorf("%s: %w", filepath.Join(dir, optimizerFile), err)
	}
	if st.HasBest {
		bm, err := checkpoint.ReadSafetensors(filepath.Join(dir, bestFile))
		if err != nil {
			return err
		}
		l.best = map[string][]float32{}
		for _, p := range l.params {
			t := bm[p.Name]
			if t == nil || t.Numel() != p.Value.Numel() {
				return fmt.Errorf("%s: best weights lack %s or have the wrong size", filepath.Join(dir, bestFile), p.Name)
			}
			l.best[p.Name] = append([]float32(nil), t.Data...)
		}
	}
	l.st = st
	return nil
}

// loadInto copies a safetensors file's tensors into params by name; every
// parameter must be present with its shape.
func loadInto(path string, params []*tensor.Param) error {
	m, err := checkpoint.ReadSafetensors(path)
	if err != nil {
		return err
	}
	var missing []string
	for _, p := range params {
		t := m[p.Name]
		if t == nil || t.Numel() != p.Value.Numel() {
			missing = append(missing, p.Name)
			continue
		}
		copy(p.Value.Data, t.Data)
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return fmt.Errorf("%s: missing or mis-shaped parameters %v (was the run started with other settings?)", path, missing)
	}
	return nil
}
