package corpus

import "fmt"

// ParseError is a problem at one line of a corpus file.
type ParseError struct {
	File string
	Line int
	Msg  string
}

// Error renders "file:line: message".
func (e *ParseError) Error() string { return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg) }
