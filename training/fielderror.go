package training

import (
	"fmt"
	"regexp"
)

// FieldError is a configuration error about one field, named by its JSON
// name — the spelling of the C ABI's config_json and of Python's keyword
// options; the CLI shows its flag instead (Translate). Other fields the
// message mentions are back-quoted JSON names (`overwrite_output_dir`).
// errors.Is(err, ErrConfig) holds.
type FieldError struct {
	// Op is the package that refused the configuration ("training", "dapt").
	Op string
	// Field is the JSON name, dotted for nested fields ("lora.r").
	Field string
	// Msg says what is wrong ("is required", "must be positive, got -1").
	Msg string
}

// Error is "<op>: <field> <msg>".
func (e *FieldError) Error() string { return e.Op + ": " + e.Field + " " + e.Msg }

// Is makes a FieldError an ErrConfig.
func (e *FieldError) Is(target error) bool { return target == ErrConfig }

// Translate renders the error with another front end's names: name maps a
// JSON name to its spelling there (a CLI flag "--epochs"); names it does not
// know (ok false) stay as they are.
func (e *FieldError) Translate(name func(field string) (string, bool)) string {
	field := e.Field
	if n, ok := name(field); ok {
		field = n
	}
	msg := quotedField.ReplaceAllStringFunc(e.Msg, func(q string) string {
		if n, ok := name(q[1 : len(q)-1]); ok {
			return n
		}
		return q
	})
	return e.Op + ": " + field + " " + msg
}

var quotedField = regexp.MustCompile("`[a-z_.]+`")

// FieldErrorf returns a *FieldError for op's field.
func FieldErrorf(op, field, format string, args ...any) error {
	return &FieldError{Op: op, Field: field, Msg: fmt.Sprintf(format, args...)}
}
