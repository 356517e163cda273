package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
)

// decodeJSON decodes exactly one JSON value from s into v, rejecting unknown
// fields (so a misspelled option is an error, not silently ignored) and
// trailing data.
func decodeJSON(s string, v any) error {
	dec := json.NewDecoder(bytes.NewReader([]byte(s)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if se, ok := err.(*json.SyntaxError); ok {
			return fmt.Errorf("invalid JSON at byte %d: %v", se.Offset, err)
		}
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("trailing data after the JSON value")
	}
	return nil
}
