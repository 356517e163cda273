// Package corpus reads and writes CoNLL-style token-per-line NER corpora:
// one token per line as `token<TAB>tag[<TAB>extra...]`, a blank line between
// sentences and `-DOCSTART-` lines between documents, the format of every
// corpus in ../shared/data (MTL-Bioinformatics-2016 "*-IOB" files) and of
// CoNLL-2003.
//
// Reading streams: Reader.Next returns one sentence at a time, so a corpus of
// any size is read once and never held twice. ReadFile collects the whole
// corpus for the common case.
package corpus
