package main

import "github.com/openmed/openmed/core/jsonconf"

// decodeJSON decodes a C caller's JSON string into v with jsonconf's rules
// (one value, unknown fields refused with the valid names listed).
func decodeJSON(s string, v any) error { return jsonconf.Decode([]byte(s), v) }
