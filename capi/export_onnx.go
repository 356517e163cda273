package main

/*
#include "openmed_capi.h"
*/
import "C"

import (
	"github.com/openmed/openmed/core/onnx"
)

// exportRequest is the JSON request of openmed_export_onnx: a merged Hugging
// Face token-classification folder and the output folder (gets
// onnx/model.onnx plus config.json and tokenizer files, Optimum's layout).
type exportRequest struct {
	Model string `json:"model"`
	Out   string `json:"out"`
}

// exportResult is openmed_export_onnx's result.
type exportResult struct {
	ModelFile    string   `json:"model_file"`
	Copied       []string `json:"copied"`
	Bytes        int64    `json:"bytes"`
	Nodes        int      `json:"nodes"`
	Initializers int      `json:"initializers"`
}

//export openmed_export_onnx
func openmed_export_onnx(request *C.char, out **C.char, errp **C.char) C.int {
	return call("openmed_export_onnx", errp, func() error {
		if err := checkOut(out); err != nil {
			return err
		}
		var req exportRequest
		if err := decodeRequest(request, "request_json", &req); err != nil {
			return err
		}
		if req.Model == "" || req.Out == "" {
			return badInput("request_json: \"model\" and \"out\" are required")
		}
		res, err := onnx.Export(req.Model, req.Out, onnx.ExportOptions{ProducerVersion: Version})
		if err != nil {
			return err
		}
		copied := res.Copied
		if copied == nil {
			copied = []string{}
		}
		return setOut(out, exportResult{ModelFile: res.ModelFile, Copied: copied, Bytes: res.Bytes,
			Nodes: res.Nodes, Initializers: res.Initializers})
	})
}

//export openmed_merge
func openmed_merge(request *C.char, out **C.char, errp **C.char) C.int {
	return call("openmed_merge", errp, func() error {
		if err := checkOut(out); err != nil {
			return err
		}
		if _, err := goString(request, "request_json"); err != nil {
			return err
		}
		return notAvailable("LoRA merge (openmed merge)")
	})
}
