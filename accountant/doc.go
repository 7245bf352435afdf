// Package accountant computes the (ε, δ) differential-privacy guarantee of DP-SGD training: one or more
// phases of Poisson-subsampled Gaussian steps, under add-or-remove-one neighbours. It reproduces Google's
// dp_accounting (0.6.0) and is checked against it on the reference vectors.
//
// Two accountants are provided:
//
//   - RDP (NewRDP): Rényi differential privacy at a set of orders α. The per-step RDP of the subsampled
//     Gaussian is log(A_α)/(α-1), with A_α from Mironov (2017, "Rényi Differential Privacy") and Mironov,
//     Talwar & Zhang (2019, "Rényi Differential Privacy of the Sampled Gaussian Mechanism"); phases add up.
//     The conversion to (ε, δ) is the improved bound of Canonne, Kamath & Steinke (2020, Prop. 12) with the
//     KL-divergence bound for tiny RDP, minimized over the orders (EpsilonFromRDP, DeltaFromRDP).
//   - PLD (NewPLD): the privacy-loss distribution (Koskela, Jälkö & Honkela 2020; Meiser & Mohammadi 2018),
//     discretized on a grid of interval d by the pessimistic connect-the-dots algorithm of Doroshenko,
//     Ghazi, Kamath, Kumar & Manurangsi (2022, "Connect the Dots: Tighter Discrete Approximations of
//     Privacy Loss Distributions") and composed by FFT, as dp_accounting's PLDAccountant. It is tighter
//     than RDP and gives the mechanism's privacy curve δ(ε) (PLD.Curve), against which an audit's lower
//     bound can be compared.
//
// CalibrateNoise finds the smallest noise multiplier for a target (ε, δ) with either accountant, by the
// bracket search and Brent's method of dp_accounting's calibrate_dp_mechanism.
//
// Units: ε in nats, δ a probability. Parameters are validated where they enter (Phase.Validate): the
// sampling rate q in (0, 1], the noise multiplier σ > 0, steps ≥ 1, δ in (0, 1), ε ≥ 0.
package accountant
