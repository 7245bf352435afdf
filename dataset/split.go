package dataset

import (
	"fmt"
	"slices"
)

// PairedMemberships builds Privacy Meter v2's membership design (split_dataset_for_training): 2·pairs
// models in complementary pairs over n records. For pair k a uniform random permutation π of the
// records is drawn; model 2k trains on π[0 : n/2] (n/2 rounded down) and model 2k+1 on the other
// n − n/2 records. Every record is therefore IN for exactly one model of each pair, so with any target
// model t and its partner t^1 the remaining pairs give each record one IN and one OUT reference model.
// The result is n records × 2·pairs models; pairs are drawn in order from one stream of the seed.
func PairedMemberships(n, pairs int, seed uint64) (*Memberships, error) {
	if n < 2 {
		return nil, fmt.Errorf("paired memberships: %d records; need at least 2", n)
	}
	if pairs < 1 {
		return nil, fmt.Errorf("paired memberships: %d pairs; need at least 1", pairs)
	}
	r := newRNG(seed, streamPaired)
	m := 2 * pairs
	ms := NewMemberships(n, m)
	for k := range pairs {
		p := r.perm(n)
		for j, i := range p {
			if j < n/2 {
				ms.Members[i*m+2*k] = true
			} else {
				ms.Members[i*m+2*k+1] = true
			}
		}
	}
	return ms, nil
}

// LiRAMemberships builds the membership design of LiRA (Carlini et al., "Membership Inference Attacks
// From First Principles", IEEE S&P 2022; mi_lira_2021/train.py): with U uniform on [0, 1]^{M × n},
// keep = argsort(U, axis=0) < int(pkeep·M). Each record is IN for exactly k = int(pkeep·M) of the M
// models (pkeep·M truncated, as Python's int does), a uniformly random k-subset drawn independently
// per record; here it is drawn directly by a partial Fisher–Yates shuffle, which has the same
// distribution. pkeep must lie in [0, 1]. The result is n records × models models.
func LiRAMemberships(n, models int, pkeep float64, seed uint64) (*Memberships, error) {
	if n < 1 || models < 1 {
		return nil, fmt.Errorf("LiRA memberships: %d records × %d models; both must be positive", n, models)
	}
	if !(pkeep >= 0 && pkeep <= 1) {
		return nil, fmt.Errorf("LiRA memberships: pkeep %v outside [0, 1]", pkeep)
	}
	k := int(pkeep * float64(models))
	r := newRNG(seed, streamLiRA)
	ms := NewMemberships(n, models)
	p := make([]int, models)
	for i := range n {
		for j := range p {
			p[j] = j
		}
		for j := 0; j < k; j++ {
			s := j + r.intn(models-j)
			p[j], p[s] = p[s], p[j]
			ms.Members[i*models+p[j]] = true
		}
	}
	return ms, nil
}

// BernoulliMemberships builds the design in which every record joins every model's training set
// independently with probability ½ (each membership one fair coin of the seed's stream): the design of
// one-run DP audits (Steinke, Nasr & Jagielski, "Privacy Auditing with One (1) Training Run", NeurIPS
// 2023), where a record's membership in one model says nothing about the others. Training-set sizes and a
// record's IN count vary. The result is n records × models models.
func BernoulliMemberships(n, models int, seed uint64) (*Memberships, error) {
	if n < 1 || models < 1 {
		return nil, fmt.Errorf("bernoulli memberships: %d records × %d models; both must be positive", n, models)
	}
	r := newRNG(seed, streamBernoulli)
	ms := NewMemberships(n, models)
	var bits uint64
	for k := range ms.Members {
		if k%64 == 0 {
			bits = r.src.Uint64()
		}
		ms.Members[k] = bits&1 == 1
		bits >>= 1
	}
	return ms, nil
}

// SplitByFraction splits records 0..n-1 in file order: the first int(frac·n) (truncated) and the rest.
// Privacy Meter v2 uses frac = 0.75 for Purchase100 and Texas100 (training pool, then population).
func SplitByFraction(n int, frac float64) (head, tail []int, err error) {
	if n < 0 || !(frac >= 0 && frac <= 1) {
		return nil, nil, fmt.Errorf("split by fraction: %d records, fraction %v; want n ≥ 0 and a fraction in [0, 1]", n, frac)
	}
	k := int(float64(n) * frac)
	head, tail = make([]int, k), make([]int, n-k)
	for i := range head {
		head[i] = i
	}
	for i := range tail {
		tail[i] = k + i
	}
	return head, tail, nil
}

// HoldOut draws a population of size records uniformly without replacement from 0..n-1 and returns
// the remaining pool and the population, each in increasing order. No model should train on the
// population; attacks use it as reference non-members (Privacy Meter's population, RMIA's z).
func HoldOut(n, size int, seed uint64) (pool, population []int, err error) {
	if size < 0 || size > n {
		return nil, nil, fmt.Errorf("hold-out: population of %d from %d records", size, n)
	}
	r := newRNG(seed, streamHoldOut)
	all := make([]int, n)
	for i := range all {
		all[i] = i
	}
	population = r.sample(all, size)
	slices.Sort(population)
	pool = make([]int, 0, n-size)
	j := 0
	for i := range n {
		if j < len(population) && population[j] == i {
			j++
			continue
		}
		pool = append(pool, i)
	}
	return pool, population, nil
}

// ShadowSplit is the data of the shadow-model setting of Shokri et al. ("Membership Inference Attacks
// against Machine Learning Models", IEEE S&P 2017, §4): a target model with members TargetIn and
// non-members TargetOut, and shadow models s with members ShadowIn[s] and non-members ShadowOut[s].
// All indices refer to the original records.
type ShadowSplit struct {
	TargetIn, TargetOut []int
	ShadowIn, ShadowOut [][]int
}

// SplitShadow draws a target/shadow split over n records. The target takes 2·targetSize distinct
// records, half as training set (TargetIn) and half as held-out non-members (TargetOut). Every shadow
// model then draws 2·shadowSize distinct records from the other n − 2·targetSize records, half IN and
// half OUT, independently of the other shadows: shadow data never touches the target's data, but
// different shadows may share records (as in Shokri et al. and Privacy Meter v1's "hybrid" subdivide,
// which however samples shadows with replacement). Index lists are in increasing order.
func SplitShadow(n, targetSize, shadows, shadowSize int, seed uint64) (*ShadowSplit, error) {
	if targetSize < 1 || shadows < 0 || (shadows > 0 && shadowSize < 1) {
		return nil, fmt.Errorf("shadow split: target size %d, %d shadows of size %d; sizes must be positive", targetSize, shadows, shadowSize)
	}
	if 2*targetSize > n {
		return nil, fmt.Errorf("shadow split: target needs 2 × %d records, only %d exist", targetSize, n)
	}
	if shadows > 0 && 2*targetSize+2*shadowSize > n {
		return nil, fmt.Errorf("shadow split: each shadow needs 2 × %d records outside the target's %d, only %d remain", shadowSize, 2*targetSize, n-2*targetSize)
	}
	r := newRNG(seed, streamShadow)
	p := r.perm(n)
	s := &ShadowSplit{
		TargetIn:  sorted(p[:targetSize]),
		TargetOut: sorted(p[targetSize : 2*targetSize]),
	}
	pool := p[2*targetSize:]
	for range shadows {
		d := r.sample(pool, 2*shadowSize)
		s.ShadowIn = append(s.ShadowIn, sorted(d[:shadowSize]))
		s.ShadowOut = append(s.ShadowOut, sorted(d[shadowSize:]))
	}
	return s, nil
}

// BalancedAudit chooses the records to audit against model target, as Privacy Meter v2's
// sample_auditing_dataset does: size/2 records drawn uniformly without replacement from target's
// training set, then size/2 from the other records; the result lists the members first, then the
// non-members. size must be even and each side must have size/2 records. size = N returns every
// record, 0..N-1 in order (Privacy Meter's behaviour; not balanced then).
func BalancedAudit(ms *Memberships, target, size int, seed uint64) ([]int, error) {
	if target < 0 || target >= ms.M {
		return nil, fmt.Errorf("balanced audit: target model %d outside [0, %d)", target, ms.M)
	}
	if size == ms.N {
		all := make([]int, ms.N)
		for i := range all {
			all[i] = i
		}
		return all, nil
	}
	if size < 0 || size > ms.N || size%2 != 0 {
		return nil, fmt.Errorf("balanced audit: size %d must be even and at most %d records", size, ms.N)
	}
	in, out := ms.Train(target), ms.Out(target)
	if len(in) < size/2 || len(out) < size/2 {
		return nil, fmt.Errorf("balanced audit: model %d has %d members and %d non-members; need %d of each", target, len(in), len(out), size/2)
	}
	r := newRNG(seed, streamAudit)
	return append(r.sample(in, size/2), r.sample(out, size/2)...), nil
}

func sorted(p []int) []int {
	s := append([]int(nil), p...)
	slices.Sort(s)
	return s
}
