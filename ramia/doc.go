// Package ramia is range membership inference (RaMIA; Tao & Shokri, "Range Membership Inference
// Attacks", SaTML 2025): whether any record of a range — a record with missing values, an image up to
// flips, shifts and rotations, a point up to a small L2 distance, a sentence up to word substitutions —
// was used to train a model. A range is a member of a model when it contains at least one of the model's
// training records.
//
// The samplers (L2, Missing, Geometric; TextRanges for word replacement, whose neighbours come from the
// caller) draw S points of the range around each audited record and verify, with Check, that the ranges
// of non-members contain no training record. Audit scores every sampled point with RMIA and aggregates
// each range's scores into one by a trimmed mean, fixed or tuned on a reference model; the result over
// ranges is the audit's result.
//
// Compat CompatPrivacyMeter reproduces Privacy Meter v2 (run_range_mia.py, modules/ramia) bit for bit,
// including the quirks that change its answers: it reports the per-sample result instead of the range
// result, records a tuned "top" trim with the inverted ratio, and truncates the kept count, which can
// leave none (NaN range scores).
package ramia
