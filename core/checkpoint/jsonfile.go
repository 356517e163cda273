package checkpoint

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// resolveFile returns path, or path/name when path is a directory.
func resolveFile(path, name string) string {
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return filepath.Join(path, name)
	}
	return path
}

// readJSON decodes the JSON file at path into v; a decoding error names the
// file and, for syntax and type errors, the line and column.
func readJSON(path string, v any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("%s: %w", path, jsonErrorContext(data, err))
	}
	return nil
}

// writeJSON writes v to path as indented JSON with sorted keys and a final
// newline (Hugging Face's to_json_file layout), atomically.
func writeJSON(path string, v any) error {
	data, err := marshalIndentSorted(v)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return WriteFileAtomic(path, data)
}

// marshalIndentSorted marshals v, re-indents with two spaces and appends a newline.
func marshalIndentSorted(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	if err := json.Indent(&out, b, "", "  "); err != nil {
		return nil, err
	}
	out.WriteByte('\n')
	return out.Bytes(), nil
}

// jsonErrorContext adds the line and column to JSON syntax and type errors.
func jsonErrorContext(data []byte, err error) error {
	var off int64 = -1
	switch e := err.(type) {
	case *json.SyntaxError:
		off = e.Offset
	case *json.UnmarshalTypeError:
		off = e.Offset
		if e.Field != "" {
			err = fmt.Errorf("field %s: %w", e.Field, err)
		}
	}
	if off < 0 || off > int64(len(data)) {
		return err
	}
	line := 1 + bytes.Count(data[:off], []byte{'\n'})
	col := off - int64(bytes.LastIndexByte(data[:off], '\n'))
	return fmt.Errorf("line %d col %d: %w", line, col, err)
}

// decodeKeepingRaw decodes data into known (the fields a type models, as a
// plain struct without the type's UnmarshalJSON) and returns all of data's
// fields as a raw map, for overlayJSON to write back the ones known does not
// model.
func decodeKeepingRaw(data []byte, known any) (map[string]json.RawMessage, error) {
	if err := json.Unmarshal(data, known); err != nil {
		return nil, err
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, err
	}
	return raw, nil
}

// overlayJSON returns a copy of raw (a file's fields as read, unknown ones
// included) with the JSON fields of known written over it, so that saving a
// config keeps every field this package does not model.
func overlayJSON(raw map[string]json.RawMessage, known any) (map[string]json.RawMessage, error) {
	data, err := json.Marshal(known)
	if err != nil {
		return nil, err
	}
	var km map[string]json.RawMessage
	if err := json.Unmarshal(data, &km); err != nil {
		return nil, err
	}
	out := make(map[string]json.RawMessage, len(raw)+len(km)+2)
	for k, v := range raw {
		out[k] = v
	}
	for k, v := range km {
		out[k] = v
	}
	return out, nil
}

// listOrString decodes a field that Hugging Face accepts either as a list of
// strings or as one string (PEFT's target_modules, DeBERTa's pos_att_type):
// a list comes back as list, a string as s with a nil list. Anything else is
// an error naming the field.
func listOrString(field string, msg json.RawMessage) (list []string, s string, err error) {
	if err := json.Unmarshal(msg, &list); err == nil {
		return list, "", nil
	}
	if err := json.Unmarshal(msg, &s); err != nil {
		return nil, "", fmt.Errorf("field %s: want a list or a string, got %s", field, msg)
	}
	return nil, s, nil
}
