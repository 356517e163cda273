// Package scheme implements the chunk tag schemes used for named-entity
// recognition (IOB1, IOB2/BIO, IOE1, IOE2, IOBES and BILOU), lossless
// conversion between them, decoding of tag sequences into typed spans and the
// repair of predicted sequences into valid IOB2.
//
// Decoding follows seqeval (chakki-works/seqeval 1.2.x), the scorer the
// OpenMed NER paper and Hugging Face's token-classification examples use:
//
//   - Default mode reproduces seqeval's get_entities (conlleval-style,
//     lenient): an I-X after O starts an entity, a type change ends one, E-/S-
//     tags close entities.
//   - Strict mode reproduces seqeval's Tokens/Entities classes
//     (mode='strict' with a scheme): an entity is kept only if its start,
//     inside and end transitions match the scheme's patterns.
//
// Spans are half-open token ranges [Start, End). Untyped tags (B, I, O as in
// the S800 corpus) decode to spans whose Type is the empty string.
package scheme
