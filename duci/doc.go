// Package duci is dataset usage cardinality inference (DUCI; Tong, Ye, Zarifzadeh and Shokri, "How Much
// of My Dataset Did You Use? Quantitative Data Usage Inference in Machine Learning", ICLR 2025): the
// fraction of a dataset that a model was trained on, estimated from membership-inference scores.
//
// A membership attack is run against the target model on every record of the dataset, and against
// reference models whose memberships on the dataset are known. The threshold θ is the point of maximal
// TPR − FPR on the reference models' pooled scores, and each record's prediction m̂_i = 1[score_i ≥ θ] is
// debiased with the references' rates (Tong et al., §3, the debiased estimator):
//
//	p̂_i = (m̂_i − FPR) / (TPR − FPR),    p̂ = (1/N) Σ_i p̂_i,
//
// which is unbiased for the proportion p when the target's attack has the references' TPR and FPR:
// E[m̂_i] = p_i·TPR + (1 − p_i)·FPR. By default the rates are cross-fitted (DebiasCrossFit): measured on
// other records of the references than those that chose θ, since the maximum of TPR − FPR overstates
// the rates' difference where it was found. Estimate runs it with any pmeter attack (AttackScorer), with
// DUCI's own RMIA variant (RMIA), or with the population attack of Privacy Meter's demo (Population),
// and adds a bootstrap confidence interval that resamples the records and the reference models.
//
// Compat CompatPrivacyMeter reproduces Privacy Meter v2's DUCI (modules/duci, modules/mia at commit
// e384af8) bit for bit, including the quirks that change its answers (see PrivacyMeter).
package duci
