package ramia

// compatTunedTrim is the trim Privacy Meter v2 records when its tuning (audit.py audit_models_range)
// chooses the mean of the k lowest (TrimTop) or highest (TrimBottom) of s scores: trim_ratio = k/s for
// TrimTop and 1 − k/s for TrimBottom, and trim_mia_scores then keeps int((1 − trim_ratio)·s) scores, the
// float64 product truncated. For TrimTop this keeps about s − k scores instead of k (its bug R2; k = s
// keeps none); the truncation turns a product just below an integer into one fewer (R3: s = 10 with
// TrimBottom k = 1 keeps 0 scores, whose mean is NaN, R4).
func compatTunedTrim(k, s int, dir Direction) Trim {
	ratio := 1 - float64(k)/float64(s)
	if dir == TrimTop {
		ratio = float64(k) / float64(s)
	}
	return Trim{Direction: dir, Ratio: ratio, Keep: int((1 - ratio) * float64(s))}
}
