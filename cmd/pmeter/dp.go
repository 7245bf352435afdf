package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"strconv"
	"time"

	"github.com/pmeter/pmeter/accountant"
)

const dpUsage = `Usage:
  pmeter dp epsilon --sampling-rate Q --noise-multiplier S --steps T --delta D [flags]
  pmeter dp noise --epsilon E --delta D --sampling-rate Q --steps T [flags]
  pmeter dp audit [flags]
  pmeter dp soundness [flags]
  pmeter dp compare RUN_DIR... [flags]

Differential privacy of DP-SGD training and audits of it. The accountants reproduce Google's
dp_accounting: the mechanism is T steps of Poisson sampling at rate Q followed by Gaussian noise of
S times the clipping norm, under add-or-remove-one neighbours; ε is in nats.

Subcommands:
  epsilon   the ε at which the training is (ε, δ)-DP
  noise     the smallest noise multiplier that makes the training (ε, δ)-DP
  audit     a lower bound on ε from a privacy audit
  compare   several runs' claimed ε against their audits' lower bounds
  soundness the white-box audit of DP-SGD over many trainings, sound and deliberately broken

Run 'pmeter dp <subcommand> -h' for its flags.
`

const dpEpsilonUsage = `Usage:
  pmeter dp epsilon --sampling-rate Q --noise-multiplier S --steps T --delta D [flags]

Prints the ε at which DP-SGD with these parameters is (ε, δ)-DP, as dp_accounting computes it: with
the RDP accountant (RdpAccountant, default orders), the smallest ε over the orders and the order that
attains it; with the PLD accountant (PLDAccountant), ε from the privacy-loss distribution, tighter.

Flags:
  --sampling-rate Q      Poisson sampling rate per step, in (0, 1] (batch size / data set size)
  --noise-multiplier S   noise standard deviation / clipping norm, > 0
  --steps T              training steps, ≥ 1
  --delta D              target δ, in (0, 1)
  --accountant A         rdp or pld (default rdp)
  --pld-interval X       PLD value-discretization interval (default 1e-4, dp_accounting's); smaller is
                         tighter and slower
  --json                 print a JSON object: epsilon, delta, order (rdp), noise_multiplier,
                         sampling_rate, steps, accountant, pld_interval (pld); an infinite ε is null
`

const dpNoiseUsage = `Usage:
  pmeter dp noise --epsilon E --delta D --sampling-rate Q --steps T [flags]

Prints the smallest noise multiplier (within 1e-6 of the search bracket's width) for which DP-SGD with
this sampling rate and number of steps is (ε, δ)-DP, found as dp_accounting's calibrate_dp_mechanism
does: a bracket of powers of two around 1, then Brent's method. The ε printed is the accountant's at
that noise multiplier (at most the target).

Flags:
  --epsilon E            target ε, > 0
  --delta D              target δ, in (0, 1)
  --sampling-rate Q      Poisson sampling rate per step, in (0, 1]
  --steps T              training steps, ≥ 1
  --accountant A         rdp or pld (default rdp)
  --pld-interval X       PLD value-discretization interval (default 1e-4)
  --json                 print a JSON object: noise_multiplier, epsilon, target_epsilon, delta, order
                         (rdp), sampling_rate, steps, accountant, pld_interval (pld), tolerance
`

// runDP implements 'pmeter dp': a dispatcher over its subcommands.
func runDP(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, dpUsage)
		return usagef("want a subcommand: epsilon, noise, audit, compare or soundness")
	}
	switch sub, rest := args[0], args[1:]; sub {
	case "epsilon":
		return runDPEpsilon(ctx, rest, stdout)
	case "noise":
		return runDPNoise(ctx, rest, stdout, stderr)
	case "audit":
		return runDPAudit(ctx, rest, stdout, stderr)
	case "compare":
		return runDPCompare(ctx, rest, stdout)
	case "soundness":
		return runDPSoundness(ctx, rest, stdout, stderr)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, dpUsage)
		return flag.ErrHelp
	default:
		return usagef("unknown subcommand %q: want epsilon, noise, audit, compare or soundness; run 'pmeter dp -h'", sub)
	}
}

// dpFlags are the flags that 'dp epsilon' and 'dp noise' share, parsed into a typed accountant config.
type dpFlags struct {
	fs          *flag.FlagSet
	samplingQ   *float64
	steps       *int
	delta       *float64
	kind        *string
	pldInterval *float64
	json        *bool
}

func newDPFlags(name string) *dpFlags {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return &dpFlags{
		fs:          fs,
		samplingQ:   fs.Float64("sampling-rate", 0, ""),
		steps:       fs.Int("steps", 0, ""),
		delta:       fs.Float64("delta", 0, ""),
		kind:        fs.String("accountant", string(accountant.KindRDP), ""),
		pldInterval: fs.Float64("pld-interval", 0, ""),
		json:        fs.Bool("json", false, ""),
	}
}

// parse parses args, checks that the required flags are present, and returns the accountant options.
func (f *dpFlags) parse(args []string, usage string, stdout io.Writer, required ...string) (accountant.Options, error) {
	if err := parseFlags(f.fs, args, "dp "+f.fs.Name(), usage, stdout); err != nil {
		return accountant.Options{}, err
	}
	set := map[string]bool{}
	f.fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	for _, name := range required {
		if !set[name] {
			return accountant.Options{}, usagef("--%s is required; run 'pmeter dp %s -h'", name, f.fs.Name())
		}
	}
	kind, err := accountant.ParseKind(*f.kind)
	if err != nil {
		return accountant.Options{}, usagef("--accountant: %v", err)
	}
	opts := accountant.Options{Kind: kind}
	if set["pld-interval"] {
		if kind != accountant.KindPLD {
			return accountant.Options{}, usagef("--pld-interval applies to --accountant pld only")
		}
		if x := *f.pldInterval; math.IsNaN(x) || math.IsInf(x, 0) || x <= 0 {
			return accountant.Options{}, usagef("--pld-interval %v: want a number > 0", x)
		}
		opts.PLDInterval = *f.pldInterval
	}
	if kind == accountant.KindPLD && opts.PLDInterval == 0 {
		opts.PLDInterval = accountant.DefaultPLDInterval
	}
	return opts, nil
}

// finite is a float64 that encodes as JSON null when it is not finite (an infinite ε: no guarantee).
type finite float64

func (x finite) MarshalJSON() ([]byte, error) {
	if math.IsInf(float64(x), 0) || math.IsNaN(float64(x)) {
		return []byte("null"), nil
	}
	return strconv.AppendFloat(nil, float64(x), 'g', -1, 64), nil
}

// human formats a number for the one-line output.
func human(x float64) string {
	if math.IsInf(x, 1) {
		return "infinite"
	}
	return strconv.FormatFloat(x, 'g', 6, 64)
}

type dpEpsilonResult struct {
	Accountant      accountant.Kind `json:"accountant"`
	Epsilon         finite          `json:"epsilon"`
	Delta           float64         `json:"delta"`
	Order           *float64        `json:"order,omitempty"`
	NoiseMultiplier float64         `json:"noise_multiplier"`
	SamplingRate    float64         `json:"sampling_rate"`
	Steps           int             `json:"steps"`
	PLDInterval     *float64        `json:"pld_interval,omitempty"`
}

// runDPEpsilon implements 'pmeter dp epsilon'.
func runDPEpsilon(ctx context.Context, args []string, stdout io.Writer) error {
	f := newDPFlags("epsilon")
	sigma := f.fs.Float64("noise-multiplier", 0, "")
	opts, err := f.parse(args, dpEpsilonUsage, stdout, "sampling-rate", "noise-multiplier", "steps", "delta")
	if err != nil {
		return err
	}
	phase := accountant.Phase{SamplingRate: *f.samplingQ, NoiseMultiplier: *sigma, Steps: *f.steps}
	if err := phase.Validate(); err != nil {
		return usagef("%v", err)
	}
	if err := accountant.ValidateDelta(*f.delta); err != nil {
		return usagef("%v", err)
	}
	g, err := opts.Epsilon(ctx, *f.delta, phase)
	if err != nil {
		return err
	}
	res := dpEpsilonResult{
		Accountant: opts.Kind, Epsilon: finite(g.Epsilon), Delta: g.Delta,
		NoiseMultiplier: phase.NoiseMultiplier, SamplingRate: phase.SamplingRate, Steps: phase.Steps,
	}
	var detail string
	res.Order, res.PLDInterval, detail = accountantDetail(opts, g.Order)
	if *f.json {
		return writeJSONLine(stdout, res)
	}
	_, err = fmt.Fprintf(stdout, "epsilon %s at delta %s (%s; sampling rate %s, noise multiplier %s, %d steps)\n",
		human(g.Epsilon), human(g.Delta), detail, human(phase.SamplingRate), human(phase.NoiseMultiplier), phase.Steps)
	return err
}

type dpNoiseResult struct {
	Accountant      accountant.Kind `json:"accountant"`
	NoiseMultiplier float64         `json:"noise_multiplier"`
	Epsilon         finite          `json:"epsilon"`
	TargetEpsilon   float64         `json:"target_epsilon"`
	Delta           float64         `json:"delta"`
	Order           *float64        `json:"order,omitempty"`
	SamplingRate    float64         `json:"sampling_rate"`
	Steps           int             `json:"steps"`
	PLDInterval     *float64        `json:"pld_interval,omitempty"`
	Tolerance       float64         `json:"tolerance"`
}

// runDPNoise implements 'pmeter dp noise'.
func runDPNoise(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f := newDPFlags("noise")
	eps := f.fs.Float64("epsilon", 0, "")
	opts, err := f.parse(args, dpNoiseUsage, stdout, "epsilon", "delta", "sampling-rate", "steps")
	if err != nil {
		return err
	}
	target := accountant.Target{Epsilon: *eps, Delta: *f.delta, SamplingRate: *f.samplingQ, Steps: *f.steps}
	if err := target.Validate(); err != nil {
		return usagef("%v", err)
	}
	// The PLD accountant can take seconds per evaluation: report the search after the first second, at
	// most once a second.
	start, last := time.Now(), time.Now()
	target.Progress = func(sigma, e float64) {
		if now := time.Now(); now.Sub(start) > time.Second && now.Sub(last) > time.Second {
			last = now
			fmt.Fprintf(stderr, "pmeter dp noise: noise multiplier %s gives epsilon %s\n", human(sigma), human(e))
		}
	}
	cal, err := accountant.CalibrateNoise(ctx, target, opts)
	if err != nil {
		if ctx.Err() != nil {
			return err
		}
		return fmt.Errorf("calibrating the noise multiplier: %w", err)
	}
	g := cal.Guarantee
	res := dpNoiseResult{
		Accountant: opts.Kind, NoiseMultiplier: cal.NoiseMultiplier, Epsilon: finite(g.Epsilon),
		TargetEpsilon: target.Epsilon, Delta: g.Delta, SamplingRate: target.SamplingRate, Steps: target.Steps,
		Tolerance: cal.Tol,
	}
	var detail string
	res.Order, res.PLDInterval, detail = accountantDetail(opts, g.Order)
	if *f.json {
		return writeJSONLine(stdout, res)
	}
	_, err = fmt.Fprintf(stdout, "noise multiplier %s gives epsilon %s at delta %s (%s; target epsilon %s, sampling rate %s, %d steps)\n",
		strconv.FormatFloat(cal.NoiseMultiplier, 'g', 8, 64), human(g.Epsilon), human(g.Delta), detail, human(target.Epsilon), human(target.SamplingRate), target.Steps)
	return err
}

// accountantDetail returns what identifies the accountant's result: the RDP order, or the PLD
// interval, and a phrase saying which.
func accountantDetail(opts accountant.Options, order float64) (rdpOrder, pldInterval *float64, detail string) {
	detail = string(opts.Kind) + " accountant"
	if opts.Kind == accountant.KindRDP {
		return &order, nil, detail + ", order " + human(order)
	}
	interval := opts.PLDInterval
	return nil, &interval, detail + ", interval " + human(interval)
}

func writeJSONLine(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}
