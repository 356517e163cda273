// Package metrics scores entity predictions the way the OpenMed NER paper
// reports them: entity-level exact-match precision, recall and F1 (micro,
// macro, weighted and per type, with support), matching seqeval's
// classification_report and precision_recall_fscore_support in both its
// default and strict modes, plus token accuracy (seqeval's accuracy_score).
//
// For comparing two systems on one gold file it provides a paired
// approximate-randomization test (Noreen 1989; Riezler & Maxwell 2005) and
// sentence-level bootstrap confidence intervals (Efron & Tibshirani 1993)
// for micro F1 and for the difference between two systems' micro F1. Both
// precompute per-sentence true-positive, predicted and gold counts, so every
// shuffle or resample costs O(sentences).
package metrics
