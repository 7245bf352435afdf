// Package metric measures how well a membership-inference attack separates members from non-members, and
// turns attack outcomes into empirical lower bounds on differential-privacy epsilon.
//
// Scores follow one convention throughout: a higher score means "more likely a member". Memberships are
// booleans, true for a member (a record in the target model's training set).
//
// ROC curves (ROC) match scikit-learn 1.2.1 roc_curve exactly, and AUC matches numpy.trapz to the last bit,
// so that results agree with Privacy Meter and the LiRA reference code. On a curve, TPRAtFPR is Privacy
// Meter's "TPR at x% FPR" (last point with FPR <= x) and TPRAtFPRStrict is LiRA's (FPR < x).
// BalancedAccuracy is the best balanced accuracy over thresholds. Evaluate summarises one attack in a
// Result; Pool and EvaluateTargets handle several target models; Bootstrap adds percentile confidence
// intervals; AUCLowerBound is a one-sided (DeLong) confidence bound. A TPR at an FPR below 1/(number of
// non-members) is marked BelowResolution: it is not a measurement.
//
// HoldoutEpsilon is the ε lower bound pmeter reports (EpsilonBound): the threshold is chosen on half of
// the records and the Clopper–Pearson bounds computed on the other half, so that it holds at its stated
// confidence. The maximum over thresholds on the same records (EpsilonLowerBoundMax, as TF Privacy and
// Jagielski et al. report it) does not.
//
// The auditing functions bound epsilon from below:
//   - ClopperPearson, EpsilonFromCounts and EpsilonSweep follow Jagielski, Ullman and Oprea, "Auditing
//     Differentially Private Machine Learning: How Private is Private SGD?" (NeurIPS 2020) and its code
//     (tensorflow/privacy research/audit_2020);
//   - RatioBound and EpsilonLowerBound follow TF Privacy's privacy_tests/epsilon_lower_bound.py;
//     EpsilonLowerBoundMax returns the largest of those bounds, the same value, by branch and bound;
//   - OneRunPValue, OneRunEpsilon and AbstainAudit follow Steinke, Nasr and Jagielski, "Privacy Auditing
//     with One (1) Training Run" (NeurIPS 2023), as Privacy Meter v2 runs it.
//
// The differential-privacy audits report in the EpsilonBound schema, each with its preconditions in
// its doc comment and its Guarantee:
//   - OneRunBound and OneRunAudit: the one-run audit, with the statistic of Steinke et al. (StatSteinke)
//     or the f-DP audit of Mahloujifar, Melis & Chaudhuri, "Auditing f-Differential Privacy in One Run"
//     (2024) with the Gaussian-DP family (StatFDP, FDPMu; its ε holds within that family only) or with
//     the trade-off functions of (ε, δ)-DP (StatFDPApprox, ApproxDPEpsilon; for every mechanism). The
//     guess counts are fixed in advance or chosen on a separate part of the canaries; the maximum over
//     guess counts on the same canaries (AbstainAudit, Privacy Meter's; PrivacyGuardAbstainFDP,
//     PrivacyGuard's) is kept for compat only and labelled as no bound (AbstainResult.Bound).
//   - MultiRunEpsilon: Clopper–Pearson over several training runs, the threshold chosen on half of them.
//   - GaussianDPDelta and GaussianDPEpsilon: the exact privacy curve of μ-GDP (the Gaussian mechanism).
//   - PrivacyGuardFDP reproduces PrivacyGuard's FDPAnalysisNode (compat=privacyguard).
package metric
