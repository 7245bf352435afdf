// Package validity checks that pmeter's numbers mean what they say: that on a target model that leaks
// nothing, every attack under every membership design finds nothing beyond chance, and that on a target
// that leaks, the design does not change what an attack finds.
//
// An audit is evidence for a data-protection decision, and a false "high risk", or a false "this training
// was not ε-DP", is the worst defect such a tool can have. Matching the reference implementations to the
// digit does not rule it out: the way reference models are chosen for a record can depend on the record's
// membership in the target (Privacy Meter's paired model is OUT exactly for the target's members; LiRA's
// split leaves members one IN model fewer), and that alone moves AUCs by several hundredths on a target
// that leaks nothing. The harnesses here measure this on synthetic data, without training a model
// (Generate): the reference models leak, and the target leaks nothing (the null harness) or as much as
// the references (the leak harness).
//
// The null harness checks, for every attack variant (Variants) under every design (Designs), over S
// seeds: that the mean AUC lies within a Student-t interval of 0.5 built from the spread across seeds
// (records share reference models, so within-seed counts understate the variance), at level 0.001
// Bonferroni-corrected over the cells; the same for the TPR at 0.1 % FPR against its value under permuted
// memberships (which accounts for ties and discreteness); and that the number of seeds whose holdout ε
// lower bound (metric.HoldoutEpsilon) is positive is consistent with its α (binomial tail ≥ 0.001), and
// under the bernoulli design, whose memberships are the one-run audit's, so is each one-run bound's
// (metric.OneRunAudit with k± fixed in advance: Steinke, f-DP Gaussian, f-DP (ε, δ)). The
// leak harness checks that each attack's mean AUC under a design equals, within Welch's t interval, its
// mean AUC when the target's memberships are independent coins and the reference counts are those the
// design leaves (Design.Independent).
//
// Run runs them; `pmeter validate` runs the full version (FullConfig) and `go test ./validity` a reduced
// one (ReducedConfig).
package validity
