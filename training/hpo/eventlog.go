package hpo

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"time"
)

// EventKind is the type of one line of a study's event log.
type EventKind int

const (
	// EventStart starts (or, with a higher attempt, re-starts) a trial with its parameters.
	EventStart EventKind = iota
	// EventReport records one intermediate value (step = epoch).
	EventReport
	// EventFinish ends a trial: complete, pruned or failed.
	EventFinish
	// EventEnqueue adds a waiting trial with fixed (possibly partial) parameters.
	EventEnqueue
)

var eventNames = []string{"start", "report", "finish", "enqueue"}

// String returns "start", "report", "finish" or "enqueue".
func (k EventKind) String() string { return enumName(eventNames, int(k), "EventKind") }

// MarshalText encodes the kind as its name.
func (k EventKind) MarshalText() ([]byte, error) { return enumMarshal(eventNames, int(k), "event") }

// UnmarshalText decodes an event name.
func (k *EventKind) UnmarshalText(b []byte) error {
	v, err := enumUnmarshal(eventNames, b, "event")
	*k = EventKind(v)
	return err
}

// Event is one line of the append-only JSONL event log (trials.jsonl) from which a
// study's trials are rebuilt. Events carry the attempt they belong to, so a re-queued
// trial's new attempt supersedes the dead one.
type Event struct {
	Kind    EventKind `json:"event"`
	Trial   int       `json:"trial"`
	Attempt int       `json:"attempt"`
	Time    time.Time `json:"time"`
	// Worker is the writer's identity (start events).
	Worker string `json:"worker,omitempty"`
	// Params are the trial's parameters (start events).
	Params map[string]any `json:"params,omitempty"`
	// Step is the reported step (report events).
	Step *int `json:"step,omitempty"`
	// Value is the intermediate (report) or final (finish) value.
	Value *float64 `json:"value,omitempty"`
	// State is the final state (finish events).
	State TrialState `json:"state,omitempty"`
	// Error is the failure message (failed finish events).
	Error string `json:"error,omitempty"`
}

// LogInfo describes a read of the event log.
type LogInfo struct {
	// Lines is the number of lines read.
	Lines int
	// Torn lists the 1-based numbers of lines that are not complete JSON — the remains of
	// a write cut by a crash — which are ignored.
	Torn []int
}

// ReadEvents reads a JSONL event log. A missing file is an empty log. Lines that are not
// valid JSON (a torn write) are skipped and listed in LogInfo.Torn; a well-formed line
// with bad fields is an error naming path:line.
func ReadEvents(path string) ([]Event, LogInfo, error) {
	var info LogInfo
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, info, nil
	}
	if err != nil {
		return nil, info, fmt.Errorf("hpo: read %s: %w", path, err)
	}
	var events []Event
	lines := bytes.Split(data, []byte{'\n'})
	for i, line := range lines {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		info.Lines++
		var ev Event
		dec := json.NewDecoder(bytes.NewReader(line))
		dec.UseNumber()
		if err := dec.Decode(&ev); err != nil {
			var syn *json.SyntaxError
			if errors.As(err, &syn) || errors.Is(err, io.ErrUnexpectedEOF) {
				info.Torn = append(info.Torn, i+1)
				continue
			}
			return nil, info, fmt.Errorf("hpo: %s:%d: %w", path, i+1, err)
		}
		if dec.More() {
			info.Torn = append(info.Torn, i+1)
			continue
		}
		for k, v := range ev.Params {
			ev.Params[k] = canonicalChoice(v)
		}
		if err := ev.validate(); err != nil {
			return nil, info, fmt.Errorf("hpo: %s:%d: %w", path, i+1, err)
		}
		events = append(events, ev)
	}
	return events, info, nil
}

func (ev Event) validate() error {
	if ev.Trial < 0 {
		return fmt.Errorf("trial %d: negative trial number", ev.Trial)
	}
	if ev.Attempt < 1 && ev.Kind != EventEnqueue {
		return fmt.Errorf("trial %d: attempt must be ≥ 1, got %d", ev.Trial, ev.Attempt)
	}
	switch ev.Kind {
	case EventStart, EventEnqueue:
		if ev.Params == nil {
			return fmt.Errorf("trial %d: %s event without params", ev.Trial, ev.Kind)
		}
	case EventReport:
		if ev.Step == nil || ev.Value == nil {
			return fmt.Errorf("trial %d: report event needs step and value", ev.Trial)
		}
	case EventFinish:
		if !ev.State.Finished() {
			return fmt.Errorf("trial %d: finish event with state %s", ev.Trial, ev.State)
		}
		if ev.State == StateComplete && ev.Value == nil {
			return fmt.Errorf("trial %d: complete without value", ev.Trial)
		}
	}
	return nil
}

// appendEvents appends events to the log as JSON lines with one write and an fsync. The
// caller holds the study lock. If the file does not end in a newline (a torn write by a
// crashed process) a newline is written first so the torn fragment stays on its own line.
func appendEvents(path string, evs ...Event) error {
	var buf bytes.Buffer
	for _, ev := range evs {
		b, err := json.Marshal(ev)
		if err != nil {
			return fmt.Errorf("hpo: encode %s event of trial %d: %w", ev.Kind, ev.Trial, err)
		}
		buf.Write(b)
		buf.WriteByte('\n')
	}
	_, statErr := os.Stat(path)
	created := errors.Is(statErr, os.ErrNotExist)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("hpo: open %s: %w", path, err)
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Size() > 0 {
		r, err := os.Open(path)
		if err != nil {
			return fmt.Errorf("hpo: open %s: %w", path, err)
		}
		last := make([]byte, 1)
		_, err = r.ReadAt(last, st.Size()-1)
		r.Close()
		if err != nil {
			return fmt.Errorf("hpo: read tail of %s: %w", path, err)
		}
		if last[0] != '\n' {
			buf = *bytes.NewBuffer(append([]byte{'\n'}, buf.Bytes()...))
		}
	}
	if _, err := f.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("hpo: append to %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("hpo: fsync %s: %w", path, err)
	}
	if created {
		syncDir(filepath.Dir(path))
	}
	return nil
}

// syncDir fsyncs a directory so a newly created entry survives a crash (best effort).
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

// Replay rebuilds the trials from events in log order, returned by trial number. An
// enqueue event adds a waiting trial; a start event starts it, or with a higher attempt
// re-starts a running trial (its curve is reset); events of superseded attempts are
// ignored. Inconsistent logs (a finished trial started again, a
// report for an unknown trial) are errors.
func Replay(events []Event) ([]FrozenTrial, error) {
	byNum := map[int]*FrozenTrial{}
	for i, ev := range events {
		t := byNum[ev.Trial]
		switch ev.Kind {
		case EventEnqueue:
			if t != nil {
				return nil, fmt.Errorf("hpo: event %d: trial %d enqueued twice", i+1, ev.Trial)
			}
			byNum[ev.Trial] = &FrozenTrial{Number: ev.Trial, State: StateWaiting, Params: ev.Params}
		case EventStart:
			if t != nil {
				if t.State.Finished() {
					return nil, fmt.Errorf("hpo: event %d: trial %d started again after it finished (%s)", i+1, ev.Trial, t.State)
				}
				if ev.Attempt <= t.Attempt {
					return nil, fmt.Errorf("hpo: event %d: trial %d attempt %d does not follow attempt %d", i+1, ev.Trial, ev.Attempt, t.Attempt)
				}
			}
			byNum[ev.Trial] = &FrozenTrial{
				Number: ev.Trial, State: StateRunning, Params: ev.Params,
				Attempt: ev.Attempt, Worker: ev.Worker, Started: ev.Time,
			}
		case EventReport, EventFinish:
			if t == nil {
				return nil, fmt.Errorf("hpo: event %d: %s for unknown trial %d", i+1, ev.Kind, ev.Trial)
			}
			if ev.Attempt != t.Attempt {
				continue // a superseded attempt
			}
			if t.State == StateWaiting {
				return nil, fmt.Errorf("hpo: event %d: %s for trial %d before it started", i+1, ev.Kind, ev.Trial)
			}
			if t.State.Finished() {
				return nil, fmt.Errorf("hpo: event %d: %s for trial %d after it finished", i+1, ev.Kind, ev.Trial)
			}
			if ev.Kind == EventReport {
				t.setIntermediate(*ev.Step, *ev.Value)
				continue
			}
			t.State, t.Finished, t.Error = ev.State, ev.Time, ev.Error
			if ev.Value != nil {
				v := *ev.Value
				t.Value = &v
			}
		}
	}
	out := make([]FrozenTrial, 0, len(byNum))
	for _, t := range byNum {
		out = append(out, *t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Number < out[j].Number })
	return out, nil
}
