package audit

import "reflect"

// RamiaConfig is Privacy Meter v2's ramia section, the settings of its run_range_mia.py, so that its RaMIA
// configs (configs/ramia/*.yaml) run unchanged: a config with this section is a range_membership audit,
// and each field maps onto the range section's field of the same name (RangeConfig), validated there.
// Privacy Meter has no such privacy game; its configs say privacy_loss_model, and the script decides.
type RamiaConfig struct {
	RangeFunction   string      `yaml:"range_function"` // l2, geometric, missing_values (word_replace is refused)
	SampleSize      int         `yaml:"sample_size"`
	Transformations []string    `yaml:"transformations"` // geometric: horizontal_flip, vertical_flip, rotate:DEGREES, shift:DX,DY
	Radius          float64     `yaml:"radius"`          // l2
	NumMissingFeats int         `yaml:"num_missing_feats"`
	ColRanges       [][]float64 `yaml:"col_ranges"`
	IsCategorical   bool        `yaml:"is_categorical"`
	TrimRatio       *float64    `yaml:"trim_ratio"`
	TrimDirection   string      `yaml:"trim_direction"`
	// MaskModel, MaskTokenizer, NumMasks and Device configure word_replace's masked language model, which
	// pmeter does not run: word_replace is refused, and these fields with any other range function too.
	MaskModel     string `yaml:"mask_model"`
	MaskTokenizer string `yaml:"mask_tokenizer"`
	NumMasks      int    `yaml:"num_masks"`
	Device        string `yaml:"device"`
}

// rangeSection is the YAML section of the range settings: Privacy Meter's ramia when the config has
// it, else pmeter's range.
func (c *Config) rangeSection() string {
	if c.ramia != nil {
		return "ramia"
	}
	return "range"
}

// rangeSamplerField is the field that names the range sampler: range_function (Privacy Meter's name,
// the only one its ramia section has) or sampler.
func (c *Config) rangeSamplerField() string {
	if c.ramia != nil || c.Range.RangeFunction != "" {
		return "range_function"
	}
	return "sampler"
}

// applyRamia makes a config with Privacy Meter's ramia section a range_membership audit with the
// equivalent range settings; parseRange then validates them, its errors naming the ramia fields. The
// section moves from Ramia to c.ramia, so that the Config writes itself (run snapshots, Hash, the
// report's settings) in pmeter's layout, which parses back to the same audit.
func (c *Config) applyRamia() error {
	r := c.Ramia
	if r == nil {
		return nil
	}
	if !reflect.DeepEqual(c.Range, RangeConfig{}) {
		return c.fieldError("ramia", "range_function", "give Privacy Meter's ramia section or pmeter's range section, not both")
	}
	switch c.Audit.PrivacyGame {
	case "privacy_loss_model", rangeGame:
		// Privacy Meter's RaMIA configs say privacy_loss_model (the only game it accepts); its
		// run_range_mia.py makes the audit a range one.
	default:
		return c.fieldError("audit", "privacy_game", "is %s, but the ramia section asks for range membership inference (Privacy Meter's run_range_mia.py); write privacy_loss_model as Privacy Meter's configs do, or %s, or remove the section", c.Audit.PrivacyGame, rangeGame)
	}
	if r.RangeFunction == "word_replace" {
		return c.fieldError("ramia", "range_function", "%s", wordReplaceRefusal)
	}
	for _, f := range []string{"mask_model", "mask_tokenizer", "num_masks"} {
		if c.present("ramia", f) {
			return c.fieldError("ramia", f, "applies to range_function word_replace only (its masked language model, which pmeter does not run), not %s", r.RangeFunction)
		}
	}
	c.Audit.PrivacyGame = rangeGame
	c.ramia, c.Ramia = r, nil
	c.Range = RangeConfig{RangeFunction: r.RangeFunction, SampleSize: r.SampleSize, Transformations: r.Transformations,
		Radius: r.Radius, NumMissingFeats: r.NumMissingFeats, ColRanges: r.ColRanges, IsCategorical: r.IsCategorical,
		TrimRatio: r.TrimRatio, TrimDirection: r.TrimDirection}
	return nil
}
