package sched

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/pmeter/pmeter/nn"
)

func TestJobSeed(t *testing.T) {
	// The first outputs of SplitMix64 (Vigna's splitmix64.c) for seeds 0 and 1234567.
	cases := []struct {
		run  uint64
		i    int
		want uint64
	}{
		{0, 0, 0xe220a8397b1dcdaf}, {0, 1, 0x6e789e6aa1b965f4}, {0, 2, 0x06c45d188009454f},
		{1234567, 0, 0x599ed017fb08fc85}, {1234567, 1, 0x2c73f08458540fa5}, {1234567, 2, 0x883ebce5a3f27c77},
	}
	for _, c := range cases {
		if got := JobSeed(c.run, c.i); got != c.want {
			t.Errorf("JobSeed(%d, %d) = %#x, want %#x", c.run, c.i, got, c.want)
		}
	}
}

// testData returns n records of 20 features in 4 classes, drawn from seed.
func testData(n int, seed uint64) nn.Data {
	r := rand.New(rand.NewPCG(seed, 7))
	x := nn.NewTensor(n, 20)
	y := make([]int, n)
	for i := range y {
		y[i] = r.IntN(4)
		for j := 0; j < 20; j++ {
			x.Data[i*20+j] = float32(r.NormFloat64() + float64(y[i]*(j%4)))
		}
	}
	return nn.Data{X: x, Labels: y}
}

func testSpecs() []nn.LayerSpec {
	return []nn.LayerSpec{{Kind: nn.KindDense, In: 20, Out: 16}, {Kind: nn.KindReLU}, {Kind: nn.KindDropout, P: 0.1}, {Kind: nn.KindDense, In: 16, Out: 4}}
}

var testConfig = nn.TrainConfig{Epochs: 3, BatchSize: 16, LR: 0.01, Optimizer: nn.Adam{}}

// testJobs returns k jobs, job i on its own data set; the trained weights of each are stored in out[i].
func testJobs(k int, out [][]float32) []Job {
	jobs := make([]Job, k)
	for i := range jobs {
		i := i
		jobs[i] = Job{
			Name: fmt.Sprintf("ref-%d", i),
			Build: func() (*nn.Sequential, nn.Data, error) {
				m, err := nn.FromSpecs(fmt.Sprintf("ref-%d", i), testSpecs())
				return m, testData(100+10*i, uint64(i)), err
			},
			Config: testConfig,
			Done: func(ctx context.Context, m *nn.Sequential, r Result) error {
				if out != nil {
					out[i] = flatParams(m)
				}
				return nil
			},
		}
	}
	return jobs
}

func flatParams(m *nn.Sequential) []float32 {
	var w []float32
	for _, p := range m.Params() {
		w = append(w, p.Value.Data...)
	}
	return w
}

func sameBits(a, b []float32) bool {
	if len(a) != len(b) || len(a) == 0 {
		return false
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return false
		}
	}
	return true
}

// TestRunMatchesSequential checks that concurrent training gives the weights of training each job on
// its own, one after another, whatever the number of workers.
func TestRunMatchesSequential(t *testing.T) {
	const k = 5
	want := make([][]float32, k)
	for i := 0; i < k; i++ {
		m, _ := nn.FromSpecs("seq", testSpecs())
		seed := JobSeed(42, i)
		m.Init(seed)
		cfg := testConfig
		cfg.Seed = seed
		if _, err := nn.Train(context.Background(), m, testData(100+10*i, uint64(i)), cfg); err != nil {
			t.Fatal(err)
		}
		want[i] = flatParams(m)
	}
	for _, workers := range []int{1, 2, 3, 8} {
		got := make([][]float32, k)
		res, err := Run(context.Background(), testJobs(k, got), Options{Workers: workers, Seed: 42})
		if err != nil {
			t.Fatal(err)
		}
		for i := range want {
			if !sameBits(got[i], want[i]) {
				t.Errorf("%d workers: job %d weights differ from sequential training", workers, i)
			}
			n := 100 + 10*i
			if res[i].Name != fmt.Sprintf("ref-%d", i) || res[i].Seed != JobSeed(42, i) || res[i].Train.Steps != 3*((n+15)/16) ||
				res[i].Samples != 3*n || len(res[i].Train.EpochLoss) != 3 {
				t.Errorf("%d workers: result %d = %+v", workers, i, res[i])
			}
		}
	}
}

// TestRunBoundsModels checks that at most Workers models exist at once and that progress reports every
// step and every finished job, one call at a time.
func TestRunBoundsModels(t *testing.T) {
	const k, workers = 7, 3
	var alive, peak atomic.Int64
	jobs := testJobs(k, nil)
	for i := range jobs {
		build := jobs[i].Build
		jobs[i].Build = func() (*nn.Sequential, nn.Data, error) {
			if a := alive.Add(1); a > peak.Load() {
				peak.Store(a)
			}
			return build()
		}
		jobs[i].Done = func(ctx context.Context, m *nn.Sequential, r Result) error {
			alive.Add(-1)
			return nil
		}
	}
	var inside atomic.Int32
	steps, done := 0, 0
	lastFinished := 0
	_, err := Run(context.Background(), jobs, Options{Workers: workers, Seed: 1, Progress: func(e Event) {
		if inside.Add(1) != 1 {
			t.Error("concurrent progress calls")
		}
		defer inside.Add(-1)
		if e.Total != k || e.Finished < lastFinished {
			t.Errorf("event %+v", e)
		}
		lastFinished = e.Finished
		if e.Batch < 0 {
			done++
		} else {
			steps++
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	wantSteps := 0
	for i := 0; i < k; i++ {
		wantSteps += 3 * ((100 + 10*i + 15) / 16)
	}
	if steps != wantSteps || done != k || lastFinished != k {
		t.Errorf("%d step events, %d done events, last finished %d; want %d, %d, %d", steps, done, lastFinished, wantSteps, k, k)
	}
	if p := peak.Load(); p > workers || p < 1 {
		t.Errorf("%d models alive at once, want at most %d", p, workers)
	}
}

func TestRunCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var steps atomic.Int64
	jobs := testJobs(6, nil)
	for i := range jobs {
		jobs[i].Config.Epochs = 1000
	}
	_, err := Run(ctx, jobs, Options{Workers: 2, Progress: func(e Event) {
		if steps.Add(1) == 20 {
			cancel()
		}
	}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
	// Each worker stops at its next step.
	if s := steps.Load(); s > 22 {
		t.Errorf("%d steps after cancelling at step 20", s)
	}
}

func TestRunErrors(t *testing.T) {
	sentinel := errors.New("disk full")
	cases := []struct {
		name  string
		spoil func(j *Job)
		want  []string
		is    error
	}{
		{"build", func(j *Job) {
			j.Build = func() (*nn.Sequential, nn.Data, error) { return nil, nn.Data{}, sentinel }
		}, []string{`job 2 ("ref-2")`, "build", "disk full"}, sentinel},
		{"done", func(j *Job) {
			j.Done = func(context.Context, *nn.Sequential, Result) error { return sentinel }
		}, []string{`job 2 ("ref-2")`, "done", "disk full"}, sentinel},
		{"training", func(j *Job) { j.Config.LR = math.Inf(1) }, []string{`job 2 ("ref-2")`, "learning rate"}, nil},
		{"diverged", func(j *Job) { j.Config.LR = 1e30 }, []string{`job 2 ("ref-2")`, "diverged"}, nn.ErrDiverged},
		{"panic", func(j *Job) {
			j.Build = func() (*nn.Sequential, nn.Data, error) { panic("boom") }
		}, []string{`job 2 ("ref-2")`, "panic: boom"}, nil},
		{"no model", func(j *Job) {
			j.Build = func() (*nn.Sequential, nn.Data, error) { return nil, nn.Data{}, nil }
		}, []string{`job 2 ("ref-2")`, "no model"}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			jobs := testJobs(5, nil)
			for i := range jobs {
				if i != 2 {
					jobs[i].Config.Epochs = 100000 // minutes: they end only by being cancelled
				}
			}
			c.spoil(&jobs[2])
			res, err := Run(context.Background(), jobs, Options{Workers: 3})
			if err == nil {
				t.Fatal("no error")
			}
			for _, s := range c.want {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not contain %q", err, s)
				}
			}
			if c.is != nil && !errors.Is(err, c.is) {
				t.Errorf("error %v does not wrap %v", err, c.is)
			}
			// The other jobs were cancelled.
			for i, r := range res {
				if i != 2 && len(r.Train.EpochLoss) > 0 {
					t.Errorf("job %d ran to the end after job 2 failed", i)
				}
			}
		})
	}
}

func TestRunEmptyAndInvalid(t *testing.T) {
	res, err := Run(context.Background(), nil, Options{})
	if err != nil || len(res) != 0 {
		t.Errorf("no jobs: %v, %v", res, err)
	}
	if _, err := Run(context.Background(), []Job{{Name: "x"}}, Options{}); err == nil || !strings.Contains(err.Error(), `"x"`) {
		t.Errorf("job without Build: %v", err)
	}
}

// TestSeeds checks that explicit per-job seeds replace the derived ones.
func TestSeeds(t *testing.T) {
	jobs := testJobs(2, nil)
	seeds := []uint64{11, 99}
	res, err := Run(context.Background(), jobs, Options{Workers: 2, Seeds: seeds})
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		if r.Seed != seeds[i] {
			t.Errorf("job %d ran with seed %d, want %d", i, r.Seed, seeds[i])
		}
	}
	if _, err := Run(context.Background(), jobs, Options{Seeds: seeds[:1]}); err == nil {
		t.Error("one seed for two jobs accepted")
	}
}
