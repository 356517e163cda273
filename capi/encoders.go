package main

/*
#include <stdint.h>
*/
import "C"

import (
	"context"

	"github.com/openmed/openmed/core/encoder"
)

// openmed_encoders_install installs pinned encoders into the encoder cache
// (encoder.Ensure): request_json is an encoder.InstallRequest
// ({"names": [..]} or {"all": true}, "overwrite", "package"); *out_json is
// the list of the encoders' openmed_encoder.json records.
//
//export openmed_encoders_install
func openmed_encoders_install(request *C.char, out **C.char, errp **C.char) C.int {
	return call("openmed_encoders_install", errp, func() error {
		if err := checkOut(out); err != nil {
			return err
		}
		var req encoder.InstallRequest
		if err := decodeRequest(request, "request_json", &req); err != nil {
			return err
		}
		if len(req.Names) == 0 && !req.All {
			return badInput("request_json: name encoders to install (\"names\") or ask for \"all\"")
		}
		for _, n := range req.Names {
			if _, err := encoder.Lookup(n); err != nil {
				return badInput("request_json: %v", err)
			}
		}
		infos, err := encoder.Ensure(context.Background(), req, nil)
		if err != nil {
			return err
		}
		return setOut(out, infos)
	})
}
