package main

/*
#include "openmed_capi.h"
*/
import "C"

import (
	"github.com/openmed/openmed/core/lora"
	"github.com/openmed/openmed/core/onnx"
	"github.com/openmed/openmed/core/tagger"
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
		res, err := onnx.Export(req.Model, req.Out, onnx.ExportOptions{ProducerVersion: Version, Aggregation: tagger.DefaultOptions().Aggregation.String()})
		if err != nil {
			return err
		}
		return setOut(out, exportResult{ModelFile: res.ModelFile, Copied: nonNil(res.Copied), Bytes: res.Bytes,
			Nodes: res.Nodes, Initializers: res.Initializers})
	})
}

// mergeRequest is the JSON request of openmed_merge: the base HF folder,
// one PEFT LoRA adapter folder and the output folder; with Unmerge the base is
// a merged folder and the update is subtracted (PEFT unmerge).
type mergeRequest struct {
	Base    string `json:"base"`
	Adapter string `json:"adapter"`
	Out     string `json:"out"`
	Unmerge bool   `json:"unmerge"`
}

// mergeResult is openmed_merge's result (lora.MergeResult).
type mergeResult struct {
	Dir      string   `json:"dir"`
	Modules  []string `json:"modules"`
	Replaced []string `json:"replaced"`
	Labels   []string `json:"labels"`
}

//export openmed_merge
func openmed_merge(request *C.char, out **C.char, errp **C.char) C.int {
	return call("openmed_merge", errp, func() error {
		if err := checkOut(out); err != nil {
			return err
		}
		var req mergeRequest
		if err := decodeRequest(request, "request_json", &req); err != nil {
			return err
		}
		if req.Base == "" || req.Adapter == "" || req.Out == "" {
			return badInput("request_json: \"base\", \"adapter\" and \"out\" are required")
		}
		dir := lora.Merge
		if req.Unmerge {
			dir = lora.Unmerge
		}
		res, err := lora.MergeAdapter(req.Base, req.Adapter, req.Out, dir)
		if err != nil {
			return err
		}
		return setOut(out, mergeResult{Dir: res.Dir, Modules: nonNil(res.Modules),
			Replaced: nonNil(res.Replaced), Labels: nonNil(res.Labels)})
	})
}

// nonNil makes a nil slice encode as [] rather than null.
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
