// Package report turns the results of a membership-inference audit into the files a data-protection
// officer files with an impact assessment and an engineer reads to decide:
//
//	index.html     one self-contained page (no network access; plots inline as SVG, record images as
//	               data: URIs), verdict first
//	summary.json   the numbers of the page, machine-readable (schema in Summary; SchemaVersion)
//	records.csv    one row per audited record: id, label, membership, every attack's score, risk rank
//	plots/*.png    the plots of the page, and the same as plots/*.svg
//
// The package knows nothing of how the results were computed. Its input (Input) is the audited records,
// their true memberships where known, and every attack's scores (higher = more likely a member); the
// metrics (ROC, AUC, TPR at low FPR, bootstrap intervals, Clopper–Pearson ε lower bounds) come from
// package metric. WriteInput and ReadInput save and load an Input, so that a report can be rebuilt from
// saved results without recomputing anything (`pmeter report RUN_DIR`).
//
// Plots use gonum.org/v1/plot with the Okabe–Ito colour-blind-safe palette and dash patterns; log axes
// of rates label their decades in percent (0.01%, 0.1%, 1%, …) with unlabelled minor ticks. The SVG
// files name the Liberation fonts with metric-compatible fallbacks instead of embedding them.
package report
