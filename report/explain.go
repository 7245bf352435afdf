package report

import "strings"

// attackNote explains one family of attacks in plain language for the report's method section.
type attackNote struct {
	prefix  string // attack names starting with prefix (then "-", "_" or nothing) belong to the family
	title   string
	text    string // threat model and idea
	refKeys []string
}

// attackNotes are the attack families the report knows how to explain; an attack of another name is
// described by its AttackResult.Description only.
var attackNotes = []attackNote{
	{"loss", "LOSS attack",
		"Needs only the target model's loss on the record (black-box access to its predictions and the record's " +
			"true label). Models fit their training data better than unseen data, so a low loss suggests a member. " +
			"No reference models: the same threshold is applied to every record, which makes the attack weak on " +
			"records that are simply easy or hard.", []string{"yeom"}},
	{"modified-entropy", "Modified-entropy attack",
		"Thresholds the modified prediction entropy, which combines the confidence on the true label with " +
			"the confidence on the other labels; thresholds can be set per class. Black-box access to the " +
			"prediction vector and the true label.", []string{"song"}},
	{"entropy", "Entropy attack",
		"Thresholds the entropy of the model's prediction vector (members get more confident, lower-entropy " +
			"predictions); thresholds can be set per class. Black-box access to the prediction vector.", []string{"song"}},
	{"confidence", "Confidence attack",
		"Thresholds the model's confidence on the record's true label (members get higher confidence); " +
			"thresholds can be set per class. Black-box access to the prediction vector and the true label.", []string{"song"}},
	{"correctness", "Correctness (gap) attack",
		"Guesses \"member\" whenever the model classifies the record correctly. It only needs the predicted label, " +
			"and it is the baseline that the generalisation gap alone explains.", []string{"yeom", "song"}},
	{"shadow", "Shadow-model attack",
		"The adversary trains shadow models that imitate the target on data from the same distribution, " +
			"then trains a classifier to tell the shadows' predictions on their training records from those on " +
			"other records, and applies it to the target's predictions.", []string{"shokri"}},
	{"lira", "Likelihood-ratio attack (LiRA)",
		"The adversary trains reference models with and without each record (or only without: the offline " +
			"variant) and models the target's rescaled confidence on the record as Gaussian in each case. The " +
			"score is the likelihood ratio of \"member\" versus \"non-member\", calibrated per record, which makes " +
			"the attack strong at low false-positive rates. Requires query access to the target and the ability " +
			"to train models on similar data.", []string{"lira"}},
	{"rmia", "Robust membership-inference attack (RMIA)",
		"Compares the target's likelihood of the record, relative to reference models, with the same ratio on " +
			"population records: a record scores high when its ratio beats those of many population records. " +
			"Strong with few reference models. Requires query access to the target, reference models trained on " +
			"similar data, and a pool of population records.", []string{"rmia"}},
	{"reference", "Reference-model attack (Attack-R)",
		"Compares the target's loss on the record with the losses of reference models that did not train on " +
			"it, so that each record gets its own threshold.", []string{"ye"}},
	{"population", "Population attack (Attack-P)",
		"Compares the target's loss on the record with its losses on population records that were not used " +
			"for training.", []string{"ye"}},
}

// noteFor returns the explanation of attack name, if the report has one.
func noteFor(name string) (attackNote, bool) {
	n := strings.ToLower(name)
	for _, a := range attackNotes {
		if n == a.prefix || strings.HasPrefix(n, a.prefix+"-") || strings.HasPrefix(n, a.prefix+"_") {
			return a, true
		}
	}
	return attackNote{}, false
}

// reference is one cited work.
type reference struct {
	Key, Text string
}

// references are the works the report cites, in citation order.
var references = []reference{
	{"shokri", "R. Shokri, M. Stronati, C. Song, V. Shmatikov. Membership Inference Attacks against Machine Learning Models. IEEE S&P 2017. arXiv:1610.05820."},
	{"yeom", "S. Yeom, I. Giacomelli, M. Fredrikson, S. Jha. Privacy Risk in Machine Learning: Analyzing the Connection to Overfitting. IEEE CSF 2018. arXiv:1709.01604."},
	{"song", "L. Song, P. Mittal. Systematic Evaluation of Privacy Risks of Machine Learning Models. USENIX Security 2021. arXiv:2003.10595."},
	{"ye", "J. Ye, A. Maddi, S. K. Murakonda, V. Bindschaedler, R. Shokri. Enhanced Membership Inference Attacks against Machine Learning Models. ACM CCS 2022. arXiv:2111.09679."},
	{"lira", "N. Carlini, S. Chien, M. Nasr, S. Song, A. Terzis, F. Tramèr. Membership Inference Attacks From First Principles. IEEE S&P 2022. arXiv:2112.03570."},
	{"rmia", "S. Zarifzadeh, P. Liu, R. Shokri. Low-Cost High-Power Membership Inference Attacks. ICML 2024. arXiv:2312.03262."},
	{"kairouz", "P. Kairouz, S. Oh, P. Viswanath. The Composition Theorem for Differential Privacy. ICML 2015. arXiv:1311.0776."},
	{"jagielski", "M. Jagielski, J. Ullman, A. Oprea. Auditing Differentially Private Machine Learning: How Private is Private SGD? NeurIPS 2020. arXiv:2006.07709."},
	{"nasr", "M. Nasr, S. Song, A. Thakurta, N. Papernot, N. Carlini. Adversary Instantiation: Lower Bounds for Differentially Private Machine Learning. IEEE S&P 2021. arXiv:2101.04535."},
	{"clopper", "C. J. Clopper, E. S. Pearson. The Use of Confidence or Fiducial Limits Illustrated in the Case of the Binomial. Biometrika 26(4), 1934."},
	{"efron", "B. Efron, R. J. Tibshirani. An Introduction to the Bootstrap. Chapman & Hall, 1993."},
	{"abadi", "M. Abadi, A. Chu, I. Goodfellow, H. B. McMahan, I. Mironov, K. Talwar, L. Zhang. Deep Learning with Differential Privacy. ACM CCS 2016. arXiv:1607.00133."},
	{"murakonda", "S. K. Murakonda, R. Shokri. ML Privacy Meter: Aiding Regulatory Compliance by Quantifying the Privacy Risks of Machine Learning. HotPETs 2020. arXiv:2007.09339."},
	{"okabe", "M. Okabe, K. Ito. Color Universal Design (CUD): How to make figures and presentations that are friendly to colorblind people. J*Fly, 2008."},
	{"steinke", "T. Steinke, M. Nasr, M. Jagielski. Privacy Auditing with One (1) Training Run. NeurIPS 2023. arXiv:2305.08846."},
	{"mahloujifar", "S. Mahloujifar, L. Melis, K. Chaudhuri. Auditing f-Differential Privacy in One Run. arXiv:2410.22235, 2024."},
}

// refNumber returns the 1-based number of reference key.
func refNumber(key string) int {
	for i, r := range references {
		if r.Key == key {
			return i + 1
		}
	}
	return 0
}
