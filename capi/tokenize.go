package main

/*
#include "openmed_capi.h"
*/
import "C"

import (
	"github.com/openmed/openmed/core/tokenize"
)

// tokenizeRequest is the JSON request of openmed_tokenize. Exactly one of
// Texts and Words is set; Words holds pre-tokenized inputs (HF
// is_split_into_words=True).
type tokenizeRequest struct {
	Texts            []string   `json:"texts"`
	Words            [][]string `json:"words"`
	AddSpecialTokens *bool      `json:"add_special_tokens"`
	MaxLength        int        `json:"max_length"`
}

// tokenizeEncoding is one encoding in openmed_tokenize's result, in the
// format of HF's reference encodings: offsets in code points ([0,0] for
// specials) and word_ids null for specials.
type tokenizeEncoding struct {
	IDs     []int32  `json:"ids"`
	Tokens  []string `json:"tokens"`
	Offsets [][2]int `json:"offsets"`
	WordIDs []*int   `json:"word_ids"`
}

// tokenizeResult is openmed_tokenize's result.
type tokenizeResult struct {
	Encodings []tokenizeEncoding `json:"encodings"`
}

//export openmed_tokenizer_open
func openmed_tokenizer_open(path *C.char, handle *C.uint64_t, errp **C.char) C.int {
	return call("openmed_tokenizer_open", errp, func() error {
		if handle == nil {
			return badInput("handle out-parameter is NULL")
		}
		*handle = 0
		p, err := goString(path, "path")
		if err != nil {
			return err
		}
		tk, err := tokenize.Load(p)
		if err != nil {
			return err
		}
		*handle = C.uint64_t(newHandle(kindTokenizer, tk))
		return nil
	})
}

//export openmed_tokenizer_close
func openmed_tokenizer_close(handle C.uint64_t, errp **C.char) C.int {
	return call("openmed_tokenizer_close", errp, func() error {
		return closeHandle(uint64(handle), kindTokenizer)
	})
}

//export openmed_tokenize
func openmed_tokenize(handle C.uint64_t, request *C.char, out **C.char, errp **C.char) C.int {
	return call("openmed_tokenize", errp, func() error {
		if err := checkOut(out); err != nil {
			return err
		}
		obj, err := lookup(uint64(handle), kindTokenizer)
		if err != nil {
			return err
		}
		var req tokenizeRequest
		if err := decodeRequest(request, "request_json", &req); err != nil {
			return err
		}
		res, err := runTokenize(obj.(*tokenize.Tokenizer), req)
		if err != nil {
			return err
		}
		return setOut(out, res)
	})
}

func runTokenize(tk *tokenize.Tokenizer, req tokenizeRequest) (*tokenizeResult, error) {
	if (req.Texts == nil) == (req.Words == nil) {
		return nil, badInput("request_json: exactly one of \"texts\" and \"words\" must be given")
	}
	if req.MaxLength < 0 {
		return nil, badInput("request_json: max_length %d is negative", req.MaxLength)
	}
	var eopts []tokenize.EncodeOption
	if req.AddSpecialTokens != nil && !*req.AddSpecialTokens {
		eopts = append(eopts, tokenize.WithoutSpecialTokens())
	}
	if req.MaxLength > 0 {
		eopts = append(eopts, tokenize.WithTruncation(req.MaxLength))
	}
	bopts := []tokenize.BatchOption{tokenize.WithEncodeOptions(eopts...)}
	var encs []*tokenize.Encoding
	var err error
	if req.Texts != nil {
		encs, err = tk.EncodeBatch(req.Texts, bopts...)
	} else {
		encs, err = tk.EncodeWordsBatch(req.Words, bopts...)
	}
	if err != nil {
		return nil, badInput("%v", err)
	}
	res := &tokenizeResult{Encodings: make([]tokenizeEncoding, len(encs))}
	for i, e := range encs {
		res.Encodings[i] = toJSONEncoding(e)
	}
	return res, nil
}

func toJSONEncoding(e *tokenize.Encoding) tokenizeEncoding {
	n := e.Len()
	out := tokenizeEncoding{IDs: e.IDs, Tokens: e.Tokens, Offsets: make([][2]int, n), WordIDs: make([]*int, n)}
	if out.IDs == nil {
		out.IDs = []int32{}
		out.Tokens = []string{}
	}
	for i := 0; i < n; i++ {
		out.Offsets[i] = [2]int{e.CharOffsets[i].Start, e.CharOffsets[i].End}
		if e.WordIDs[i] >= 0 {
			w := e.WordIDs[i]
			out.WordIDs[i] = &w
		}
	}
	return out
}
