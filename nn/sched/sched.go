// Package sched trains many models concurrently, one per worker goroutine, as a membership-inference
// audit does for its target and reference models.
//
// Each worker trains one model at a time with single-threaded BLAS, so that K cores train K models at
// full speed without the threads of one product competing with another model's. Jobs are built lazily,
// on the worker that trains them, and dropped when their Done callback returns, so at most Workers
// models (and whatever their Build allocates) exist at once. Every job gets a seed derived from the run
// seed and its index alone (JobSeed), so the trained weights do not depend on the number of workers or
// on the order in which jobs finish.
package sched

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pmeter/pmeter/nn"
)

// Job is one model to train.
type Job struct {
	Name string // identifies the job in errors and progress (for example "ref-3")
	// Build returns the job's model (its parameters are then initialised by Run) and training data. It
	// runs on the worker just before training, so that models exist only while they train.
	Build func() (*nn.Sequential, nn.Data, error)
	// Config is the training configuration. Run sets its Seed to the job's seed and its Progress to
	// report through Options.Progress.
	Config nn.TrainConfig
	// Done, when set, receives the trained model on the worker (to evaluate or save it); the model is
	// dropped when it returns. An error fails the run like a training error.
	Done func(ctx context.Context, m *nn.Sequential, r Result) error
}

// Result summarises a finished job.
type Result struct {
	Name    string
	Seed    uint64         // JobSeed(run seed, index): initialisation, shuffling, dropout and augmentation
	Train   nn.TrainResult // per-epoch losses and steps
	Elapsed time.Duration  // Build, initialisation and training (not Done)
	Samples int            // records processed: epochs × records per epoch
}

// Event is a progress report.
type Event struct {
	Job          int    // index of the job in the slice given to Run
	Name         string // the job's name
	Epoch, Batch int    // 0-based, of the step just taken (Batch is -1 when the job finished)
	Loss         float64
	Finished     int // jobs finished so far, this one included when Batch is -1
	Total        int // jobs in the run
}

// Options configures Run.
type Options struct {
	// Workers is the number of models trained at once; 0 means runtime.GOMAXPROCS(0). It is capped by
	// the number of jobs.
	Workers int
	// Seed is the run seed from which every job's seed is derived (JobSeed).
	Seed uint64
	// Seeds, when set, gives every job its own seed instead (len(Seeds) == len(jobs)): for callers whose
	// seeds come from elsewhere, such as a content-addressed cache whose jobs must keep their seeds
	// whichever of them still need training.
	Seeds []uint64
	// Progress, when set, is called after every training step and when each job finishes. Calls are
	// serialised (never concurrent), but come from the worker goroutines: keep it cheap.
	Progress func(Event)
}

// JobSeed derives job i's seed from the run seed: the SplitMix64 output function (Steele, Lea and
// Flood, "Fast splittable pseudorandom number generators", OOPSLA 2014) applied to
// run + (i + 1)·0x9e3779b97f4a7c15, i.e. the (i+1)-th output of a SplitMix64 generator seeded with run.
// Distinct indices give distinct, well-mixed seeds.
func JobSeed(run uint64, i int) uint64 {
	z := run + uint64(i+1)*0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// Run trains the jobs, at most opts.Workers at a time, and returns their results in job order. Job i's
// model is initialised with m.Init(JobSeed(opts.Seed, i)) (or opts.Seeds[i]) and trained by nn.Train with that seed, so the
// weights are those of training the jobs one after another, whatever the number of workers. Run sets
// OpenBLAS to one thread per product (nn.SetBLASThreads(1)) for the process.
//
// The first error (from Build, training, Done or a panic in them) cancels the jobs in progress, stops
// the run and is returned naming the job; jobs not yet started are not started. When ctx is cancelled,
// Run stops at the next training step and returns ctx's error. Results of failed or unstarted jobs are
// zero.
func Run(ctx context.Context, jobs []Job, opts Options) ([]Result, error) {
	for i, j := range jobs {
		if j.Build == nil {
			return nil, fmt.Errorf("sched: job %d (%q): no Build function", i, j.Name)
		}
	}
	if opts.Seeds != nil && len(opts.Seeds) != len(jobs) {
		return nil, fmt.Errorf("sched: %d seeds for %d jobs", len(opts.Seeds), len(jobs))
	}
	workers := opts.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = min(workers, len(jobs))
	results := make([]Result, len(jobs))
	if len(jobs) == 0 {
		return results, ctx.Err()
	}
	nn.SetBLASThreads(1)

	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var (
		next     atomic.Int64
		mu       sync.Mutex // serialises Progress and guards finished
		finished int
		wg       sync.WaitGroup
	)
	report := func(e Event) {
		if opts.Progress == nil {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		e.Finished, e.Total = finished, len(jobs)
		opts.Progress(e)
	}
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(jobs) || ctx.Err() != nil {
					return
				}
				seed := JobSeed(opts.Seed, i)
				if opts.Seeds != nil {
					seed = opts.Seeds[i]
				}
				r, err := runJob(ctx, i, jobs[i], seed, report)
				if err != nil {
					cancel(fmt.Errorf("sched: job %d (%q): %w", i, jobs[i].Name, err))
					return
				}
				results[i] = r
				mu.Lock()
				finished++
				mu.Unlock()
				report(Event{Job: i, Name: jobs[i].Name, Epoch: len(r.Train.EpochLoss) - 1, Batch: -1, Loss: lastLoss(r.Train)})
			}
		}()
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return results, err
	}
	return results, nil
}

func lastLoss(r nn.TrainResult) float64 {
	if len(r.EpochLoss) == 0 {
		return 0
	}
	return r.EpochLoss[len(r.EpochLoss)-1]
}

// runJob builds, initialises and trains job i, then hands the model to Done. A panic becomes an error.
func runJob(ctx context.Context, i int, j Job, seed uint64, report func(Event)) (res Result, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v", p)
		}
	}()
	start := time.Now()
	m, d, err := j.Build()
	if err != nil {
		return res, fmt.Errorf("build: %w", err)
	}
	if m == nil {
		return res, errors.New("build returned no model")
	}
	m.Init(seed)
	cfg := j.Config
	cfg.Seed = seed
	cfg.Progress = func(epoch, batch int, loss float64) {
		report(Event{Job: i, Name: j.Name, Epoch: epoch, Batch: batch, Loss: loss})
	}
	tr, err := nn.Train(ctx, m, d, cfg)
	if err != nil {
		return res, err
	}
	res = Result{Name: j.Name, Seed: seed, Train: tr, Elapsed: time.Since(start)}
	if d.X != nil && len(d.X.Shape) > 0 {
		res.Samples = cfg.Epochs * min(d.X.Shape[0], cfg.StepsPerEpoch(d.X.Shape[0])*cfg.BatchSize)
	}
	if j.Done != nil {
		if err := j.Done(ctx, m, res); err != nil {
			return res, fmt.Errorf("done: %w", err)
		}
	}
	return res, nil
}
