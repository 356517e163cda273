// Package jsonconf decodes the JSON configurations the CLI, the C ABI and
// Python share (training.Config, dapt.Config, tagger.Options, ...): exactly
// one JSON object, unknown fields refused with the list of valid names, so a
// misspelled option is an error rather than silently ignored.
package jsonconf

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"reflect"
	"sort"
	"strings"
)

// Decode decodes exactly one JSON value from data into v, rejecting unknown
// fields (the error lists the valid names) and trailing data; into a struct
// or a map only a JSON object is accepted (not null, not an array).
func Decode(data []byte, v any) error {
	if t := reflect.TypeOf(v); t != nil && t.Kind() == reflect.Pointer &&
		(t.Elem().Kind() == reflect.Struct || t.Elem().Kind() == reflect.Map) {
		if d := bytes.TrimSpace(data); len(d) > 0 && d[0] != '{' {
			return fmt.Errorf("want a JSON object, got %.20s", d)
		}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if se, ok := err.(*json.SyntaxError); ok {
			return fmt.Errorf("invalid JSON at byte %d: %v", se.Offset, err)
		}
		if field, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
			return fmt.Errorf("unknown option %s (valid: %s)", field, strings.Join(Keys(reflect.TypeOf(v)), ", "))
		}
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("trailing data after the JSON value")
	}
	return nil
}

// Keys lists the JSON names of a struct type's fields (embedded structs
// flattened, "-" skipped), sorted: what an unknown-field error offers.
func Keys(t reflect.Type) []string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return nil
	}
	var out []string
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch {
		case name == "-":
		case f.Anonymous && name == "":
			out = append(out, Keys(f.Type)...)
		case !f.IsExported():
		case name == "":
			out = append(out, f.Name)
		default:
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// ReadFile decodes the JSON file path into v (Decode); errors name the file.
func ReadFile(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := Decode(b, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}
