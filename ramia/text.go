package ramia

import "fmt"

// TextRanges is the word-replacement range (Privacy Meter's range function word_replace): a sentence and
// its neighbours, sentences that differ from it by a few words. Privacy Meter draws the neighbours with a
// masked language model (BERT: a few words masked and refilled from its top predictions); pmeter runs no
// language model, so the caller supplies the neighbours and their signals:
//
//  1. generate the neighbours of every audited sentence (Texts[i]: the sentence first, then its
//     neighbours, S texts in all) with a masked language model of your choice;
//  2. verify with Check that no range of a non-member contains a training text;
//  3. compute every text's signal (the probability of its true continuation) under the target and
//     reference models, and pass them, S rows per range in the order of Texts, to FromSignals;
//  4. run Audit.
type TextRanges struct {
	Texts [][]string
}

// Size returns S, the number of texts per range, or an error when the ranges differ in size or a range
// is empty.
func (t TextRanges) Size() (int, error) {
	if len(t.Texts) == 0 {
		return 0, fmt.Errorf("text ranges: no range")
	}
	s := len(t.Texts[0])
	for i, r := range t.Texts {
		if len(r) == 0 || len(r) != s {
			return 0, fmt.Errorf("text ranges: range %d has %d texts, range 0 has %d; every range needs the same number, at least one", i, len(r), s)
		}
	}
	return s, nil
}

// Check verifies that the range of every non-member contains no training text: members[i] says whether
// range i's sentence is a training text of the model, and training reports whether a text is one. The
// error names the range and the text.
func (t TextRanges) Check(members []bool, training func(text string) bool) error {
	if len(members) != len(t.Texts) {
		return fmt.Errorf("text ranges: %d memberships for %d ranges", len(members), len(t.Texts))
	}
	for i, r := range t.Texts {
		if members[i] {
			continue
		}
		for j, text := range r {
			if training(text) {
				return fmt.Errorf("text ranges: range %d, a non-member, contains training text %q (text %d); a range that contains a training text is a member, so it cannot be audited as a non-member", i, text, j)
			}
		}
	}
	return nil
}
