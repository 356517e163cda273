package tagger

// Text forms of the option enums, so tagger.Options serialises as JSON with
// the CLI's spellings (shared by the CLI, the C ABI and Python).

// MarshalText implements encoding.TextMarshaler ("auto", "ort", "go").
func (b BackendKind) MarshalText() ([]byte, error) { return []byte(b.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler (ParseBackend).
func (b *BackendKind) UnmarshalText(t []byte) error {
	v, err := ParseBackend(string(t))
	if err == nil {
		*b = v
	}
	return err
}

// MarshalText implements encoding.TextMarshaler ("cpu", "cuda").
func (d Device) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler (ParseDevice).
func (d *Device) UnmarshalText(t []byte) error {
	v, err := ParseDevice(string(t))
	if err == nil {
		*d = v
	}
	return err
}

// MarshalText implements encoding.TextMarshaler ("same-type", "any").
func (v Overlap) MarshalText() ([]byte, error) { return []byte(v.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler (ParseOverlap).
func (v *Overlap) UnmarshalText(t []byte) error {
	x, err := ParseOverlap(string(t))
	if err == nil {
		*v = x
	}
	return err
}

// WithOptions replaces every option with o (decoded from JSON on top of
// DefaultOptions, say).
func WithOptions(o Options) Option { return func(p *Options) { *p = o } }
