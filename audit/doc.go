// Package audit runs a whole membership-inference audit from one configuration: data → splits → target
// and reference models (trained here, or reused from the run directory) → signals → attacks → metrics →
// report.
//
// A run directory is content-addressed: every model and signal file is named by a hash of everything that
// produced it (data indices, model spec, training config, seed), so a rerun reuses what is still valid,
// recomputes exactly what changed, and never reuses a stale artefact. Every file is written atomically, so
// an interrupted run loses nothing already finished.
package audit
