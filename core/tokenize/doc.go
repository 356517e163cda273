// Package tokenize turns text into the token ids, offsets and word ids that
// Hugging Face's Rust `tokenizers` library (v0.23) produces for the same
// tokenizer files, byte for byte.
//
// It loads the two model families the OpenMed NER paper uses:
//
//   - WordPiece (BERT, PubMedBERT, BioBERT, BioELECTRA) from a tokenizer.json or
//     from vocab.txt + tokenizer_config.json the way transformers' BertConverter
//     builds one;
//   - Unigram (DeBERTa-v3) from a tokenizer.json or from a SentencePiece
//     spm.model the way transformers' DebertaV2Converter builds one.
//
// The pipeline mirrors HF's: added (special) tokens are split off the raw text
// first, every other segment is normalized (keeping a per-byte alignment back
// to the original text, as HF's NormalizedString), pre-tokenized into words,
// segmented by the model, and finally wrapped by the post-processor
// ([CLS] … [SEP]).
//
// Offsets are reported twice: Encoding.Offsets in bytes of the Go string and
// Encoding.CharOffsets in Unicode code points (Python string indices), both
// half-open [start, end). Special tokens added by the post-processor get
// [0, 0], word id -1 and sequence id -1.
//
// Long inputs are split into overlapping windows (Windows, WordAlignedWindows)
// of at most N tokens, 256 with a stride of 50 by default as in the paper.
package tokenize
