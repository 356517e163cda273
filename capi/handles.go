package main

import (
	"fmt"
	"io"
	"sync"
)

// handleKind names what a handle refers to.
type handleKind int

const (
	kindTokenizer handleKind = iota + 1
	kindTagger
	kindJob
)

func (k handleKind) String() string {
	switch k {
	case kindTokenizer:
		return "tokenizer"
	case kindTagger:
		return "tagger"
	case kindJob:
		return "job"
	}
	return fmt.Sprintf("handleKind(%d)", int(k))
}

type handleEntry struct {
	kind handleKind
	obj  any
}

// handles is the registry behind the ABI's opaque uint64 handles. Ids start
// at 1 and are never reused, so a closed handle stays invalid forever.
var handles = struct {
	sync.Mutex
	next    uint64
	entries map[uint64]handleEntry
}{entries: map[uint64]handleEntry{}}

// newHandle registers obj and returns its id.
func newHandle(kind handleKind, obj any) uint64 {
	handles.Lock()
	defer handles.Unlock()
	handles.next++
	handles.entries[handles.next] = handleEntry{kind, obj}
	return handles.next
}

// lookup returns the object of a live handle of the wanted kind.
func lookup(h uint64, kind handleKind) (any, error) {
	if h == 0 {
		return nil, badInput("%s handle is 0 (NULL)", kind)
	}
	handles.Lock()
	e, ok := handles.entries[h]
	handles.Unlock()
	if !ok {
		return nil, notFound("%s handle %d is not open (closed or never opened)", kind, h)
	}
	if e.kind != kind {
		return nil, badInput("handle %d is a %s, not a %s", h, e.kind, kind)
	}
	return e.obj, nil
}

// closeHandle removes a handle of the wanted kind and closes its object if
// it is an io.Closer.
func closeHandle(h uint64, kind handleKind) error {
	if h == 0 {
		return badInput("%s handle is 0 (NULL)", kind)
	}
	handles.Lock()
	e, ok := handles.entries[h]
	if ok && e.kind == kind {
		delete(handles.entries, h)
	}
	handles.Unlock()
	if !ok {
		return notFound("%s handle %d is not open (closed or never opened)", kind, h)
	}
	if e.kind != kind {
		return badInput("handle %d is a %s, not a %s", h, e.kind, kind)
	}
	if c, ok := e.obj.(io.Closer); ok {
		return c.Close()
	}
	return nil
}

// openHandles counts live handles (for tests).
func openHandles() int {
	handles.Lock()
	defer handles.Unlock()
	return len(handles.entries)
}
