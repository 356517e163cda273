package hpo

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Files of a study directory.
const (
	// ConfigFile holds the study's [Config] (JSON, written atomically once).
	ConfigFile = "study.json"
	// LogFile is the append-only JSONL event log of the study's trials.
	LogFile = "trials.jsonl"
	// LockFile is flock'ed around every read-sample-append and every append.
	LockFile = "study.lock"
	// WorkersDir holds one lock file per live worker process; a trial whose worker's lock
	// is free belongs to a dead process and is re-queued.
	WorkersDir = "workers"
)

// Config describes a study: what is optimised and how. It is stored in study.json so
// every worker process and every resumption uses the same settings.
type Config struct {
	// Name labels the study (e.g. "pubmedbert-ncbi_disease").
	Name string `json:"name,omitempty"`
	// Direction: Maximize for dev F1 (the paper), Minimize for losses.
	Direction Direction `json:"direction"`
	// Space is the search space ([PaperSpace] by default).
	Space Space `json:"space"`
	// Sampler chooses and seeds the sampler (TPE by default).
	Sampler SamplerConfig `json:"sampler"`
	// Pruner chooses the pruner (median by default).
	Pruner PrunerConfig `json:"pruner"`
}

// DefaultConfig is the paper's study (§3.4): maximise dev F1 over [PaperSpace] with
// multivariate TPE ([DefaultSamplerConfig], seed 0) and the median pruner.
func DefaultConfig() Config {
	return Config{
		Direction: Maximize,
		Space:     PaperSpace(),
		Sampler:   DefaultSamplerConfig(),
		Pruner:    DefaultPrunerConfig(),
	}
}

// Validate checks the space, sampler and pruner settings.
func (c Config) Validate() error {
	if c.Direction != Maximize && c.Direction != Minimize {
		return fmt.Errorf("hpo: config: invalid direction %d", c.Direction)
	}
	if err := c.Space.Validate(); err != nil {
		return fmt.Errorf("hpo: config: %w", err)
	}
	if _, err := c.Sampler.New(); err != nil {
		return fmt.Errorf("hpo: config: sampler: %w", err)
	}
	if _, err := c.Pruner.New(); err != nil {
		return fmt.Errorf("hpo: config: pruner: %w", err)
	}
	return nil
}

// Study is a durable hyper-parameter search living in a directory: study.json (the
// config), trials.jsonl (the fsync'd event log every trial is rebuilt from), study.lock
// and workers/. Any number of processes and goroutines may run [Study.Optimize] on the
// same directory; see there for the protocol.
type Study struct {
	dir     string
	cfg     Config
	sampler Sampler
	pruner  Pruner
}

// Create creates the study directory with cfg, or opens it if it already holds a study
// with the same config (so every worker may call Create). A different existing config is
// an error.
func Create(dir string, cfg Config) (*Study, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(dir, WorkersDir), 0o755); err != nil {
		return nil, fmt.Errorf("hpo: create study dir: %w", err)
	}
	want, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("hpo: encode config: %w", err)
	}
	want = append(want, '\n')
	lock, err := lockFile(filepath.Join(dir, LockFile))
	if err != nil {
		return nil, err
	}
	defer lock.Unlock()
	path := filepath.Join(dir, ConfigFile)
	have, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		if err := writeFileAtomic(path, want); err != nil {
			return nil, err
		}
	case err != nil:
		return nil, fmt.Errorf("hpo: read %s: %w", path, err)
	default:
		existing, err := parseConfig(path, have)
		if err != nil {
			return nil, err
		}
		got, _ := json.MarshalIndent(existing, "", "  ")
		if !bytes.Equal(append(got, '\n'), want) {
			return nil, fmt.Errorf("hpo: %s %w (open it with Open, or use another directory)", path, ErrConfigMismatch)
		}
	}
	return newStudy(dir, cfg)
}

// ErrConfigMismatch is wrapped by Create's error when the directory already
// holds a study with another config (space, sampler, pruner, …): a caller
// that resumes studies can report it as a settings error of its own.
var ErrConfigMismatch = errors.New("already holds a study with a different config")

// Open opens an existing study directory.
func Open(dir string) (*Study, error) {
	path := filepath.Join(dir, ConfigFile)
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("hpo: open study: %w", err)
	}
	cfg, err := parseConfig(path, data)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(dir, WorkersDir), 0o755); err != nil {
		return nil, fmt.Errorf("hpo: open study: %w", err)
	}
	return newStudy(dir, cfg)
}

func parseConfig(path string, data []byte) (Config, error) {
	var cfg Config
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cfg); err != nil {
		return cfg, fmt.Errorf("hpo: %s: %w", path, err)
	}
	if err := cfg.Validate(); err != nil {
		return cfg, fmt.Errorf("hpo: %s: %w", path, err)
	}
	return cfg, nil
}

func newStudy(dir string, cfg Config) (*Study, error) {
	s := &Study{dir: dir, cfg: cfg}
	var err error
	if s.sampler, err = cfg.Sampler.New(); err != nil {
		return nil, err
	}
	if s.pruner, err = cfg.Pruner.New(); err != nil {
		return nil, err
	}
	return s, nil
}

// writeFileAtomic writes data to a temporary file in the same directory, fsyncs it and
// renames it over path.
func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return fmt.Errorf("hpo: write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("hpo: write %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("hpo: fsync %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("hpo: write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("hpo: rename to %s: %w", path, err)
	}
	syncDir(filepath.Dir(path))
	return nil
}

// Dir is the study directory.
func (s *Study) Dir() string { return s.dir }

// Config is the study's configuration.
func (s *Study) Config() Config { return s.cfg }

func (s *Study) logPath() string  { return filepath.Join(s.dir, LogFile) }
func (s *Study) lockPath() string { return filepath.Join(s.dir, LockFile) }

// Trials reads the event log and returns every trial by number.
func (s *Study) Trials() ([]FrozenTrial, error) {
	evs, _, err := ReadEvents(s.logPath())
	if err != nil {
		return nil, err
	}
	return Replay(evs)
}

// Best returns the best complete trial (ties: the lower number); ok is false when no
// trial has completed.
func (s *Study) Best() (best FrozenTrial, ok bool, err error) {
	trials, err := s.Trials()
	if err != nil {
		return best, false, err
	}
	best, ok = bestTrial(s.cfg.Direction, trials)
	return best, ok, nil
}

func bestTrial(dir Direction, trials []FrozenTrial) (best FrozenTrial, ok bool) {
	for _, t := range trials {
		if t.State != StateComplete || t.Value == nil {
			continue
		}
		if !ok || dir.Better(*t.Value, *best.Value) {
			best, ok = t, true
		}
	}
	return best, ok
}
