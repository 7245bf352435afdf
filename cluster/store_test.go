package cluster

import (
	"bufio"
	"bytes"
	"context"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/pmeter/pmeter/internal/objstore"
)

// storeYAML is a small audit whose models train long enough (an MLP, 30 epochs) to be killed midway.
const storeYAML = `run: {random_seed: 5}
audit: {num_ref_models: 1, population_size: 100, attacks: [{name: rmia}, {name: lira}, {name: loss}]}
train: {model_name: mlp, optimizer: Adam, learning_rate: 0.002, epochs: 30, batch_size: 32, schedule: constant}
data: {dataset: fashion-mnist, train_size: 300}
`

// fakeS3 serves an in-process S3 (gofakes3) with bucket "runs", and sets the AWS SDK's standard
// credential variables, which the pmeter processes inherit.
func fakeS3(t *testing.T) string {
	t.Helper()
	backend := s3mem.New()
	if err := backend.CreateBucket("runs"); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gofakes3.New(backend).Server())
	t.Cleanup(srv.Close)
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	t.Setenv("AWS_REGION", "us-east-1")
	return "?endpoint=" + srv.URL + "&use_path_style=true&region=us-east-1"
}

// TestObjectStoreTasks runs an audit's model tasks as concurrent 'pmeter task train' processes, each
// with its JOB_COMPLETION_INDEX as a Kubernetes Indexed Job would start them, against an in-process S3
// server. One is killed while it trains: no object of its model appears, and its rerun trains it. The
// finish task's scores equal a local run's byte for byte. The manifests that 'pmeter submit
// kubernetes' wrote along the way decode strictly into k8s.io/api's Job and pass ValidateJob.
func TestObjectStoreTasks(t *testing.T) {
	if testing.Short() {
		t.Skip("builds pmeter and trains 4 small models")
	}
	settings := fakeS3(t)
	url := "s3://runs/audits/a1" + settings
	tmp := t.TempDir()
	bin := buildPmeter(t, tmp)
	cfg := filepath.Join(tmp, "audit.yaml")
	if err := os.WriteFile(cfg, []byte(storeYAML), 0o644); err != nil {
		t.Fatal(err)
	}
	local := filepath.Join(tmp, "local")
	runCmd(t, bin, "run", cfg, "--out", local)

	manifests := filepath.Join(tmp, "jobs.yaml")
	runCmd(t, bin, "submit", "kubernetes", cfg, "--image", "registry.example/pmeter:1", "--store", url, "--max-parallel", "2", "-o", manifests)
	b, err := os.ReadFile(manifests)
	if err != nil {
		t.Fatal(err)
	}
	jobs, err := DecodeJobs(b)
	if err != nil {
		t.Fatalf("strict decoding: %v\n%s", err, b)
	}
	if len(jobs) != 2 {
		t.Fatalf("%d Jobs, want the model Job and the finish Job", len(jobs))
	}
	checkTrainJob(t, jobs[0], 4, url)
	checkFinishJob(t, jobs[1], url)

	// The model tasks, at once; task 3 is killed (SIGKILL) as soon as it starts training.
	var wg sync.WaitGroup
	errs := make([]string, 4)
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			cmd := exec.Command(bin, "task", "train", "--out", url)
			cmd.Env = append(os.Environ(), "JOB_COMPLETION_INDEX="+strconv.Itoa(i))
			var out bytes.Buffer
			cmd.Stdout = &out
			stderr, _ := cmd.StderrPipe()
			if err := cmd.Start(); err != nil {
				errs[i] = err.Error()
				return
			}
			var log strings.Builder
			sc := bufio.NewScanner(stderr)
			killed := false
			for sc.Scan() {
				log.WriteString(sc.Text() + "\n")
				if i == 3 && !killed && strings.Contains(sc.Text(), "train 1 model") {
					cmd.Process.Signal(syscall.SIGKILL)
					killed = true
				}
			}
			err := cmd.Wait()
			switch {
			case i == 3 && !killed:
				errs[i] = "task 3 was never seen training:\n" + log.String()
			case i == 3 && strings.Contains(out.String(), "trained in"):
				errs[i] = "task 3 finished before it was killed"
			case i != 3 && (err != nil || !strings.Contains(out.String(), "trained in")):
				errs[i] = "task " + strconv.Itoa(i) + ": " + out.String() + log.String()
			}
		}(i)
	}
	wg.Wait()
	for _, e := range errs {
		if e != "" {
			t.Fatal(e)
		}
	}
	st, err := objstore.Open(context.Background(), "s3://runs/audits/a1"+settings)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	keys, err := st.List(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	if n := countPrefix(keys, "signals/"); n != 9 {
		t.Fatalf("%d signal objects after the kill, want 9 (3 for each of models 0-2): %v", n, keys)
	}
	code, _, errOut := runExit(bin, "task", "finish", "--out", url)
	if code != 1 || !strings.Contains(errOut, "model 3") {
		t.Fatalf("finish with model 3 missing: exit %d\n%s", code, errOut)
	}
	// Resubmitting writes a model Job for model 3 alone.
	runCmd(t, bin, "submit", "kubernetes", cfg, "--image", "registry.example/pmeter:1", "--store", url, "-o", manifests)
	b, _ = os.ReadFile(manifests)
	if jobs, err = DecodeJobs(b); err != nil || len(jobs) != 2 {
		t.Fatalf("resubmitted manifests: %v", err)
	}
	checkTrainJob(t, jobs[0], 1, url)
	if env := jobs[0].Spec.Template.Spec.Containers[0].Env; len(env) == 0 || env[0].Name != "PMETER_TASK_MODELS" || env[0].Value != "3" {
		t.Errorf("model Job of the resubmission: env %v, want PMETER_TASK_MODELS=3", env)
	}
	cmd := exec.Command(bin, "task", "train", "--out", url)
	cmd.Env = append(os.Environ(), "JOB_COMPLETION_INDEX=0", "PMETER_TASK_MODELS=3")
	if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "model 3 ") || !strings.Contains(string(out), "trained in") {
		t.Fatalf("rerun of task 3: %v\n%s", err, out)
	}
	cmd = exec.Command(bin, "task", "train", "--out", url, "--index", "1")
	if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "nothing to do") {
		t.Errorf("a repeated task: %v\n%s", err, out)
	}
	out := runCmd(t, bin, "task", "finish", "--out", url, "--wait", "--timeout", "1m", "--poll", "1s")
	if !strings.Contains(out, "models: 0 trained, 4 reused") {
		t.Errorf("finish:\n%s", out)
	}
	got := filepath.Join(tmp, "scores.npy")
	if err := st.Download(context.Background(), "results/scores.npy", got); err != nil {
		t.Fatal(err)
	}
	want, _ := os.ReadFile(filepath.Join(local, "results", "scores.npy"))
	if g, _ := os.ReadFile(got); !bytes.Equal(g, want) || len(want) == 0 {
		t.Error("the scores of the run on the object store differ from the local run's")
	}
	keys, _ = st.List(context.Background(), "")
	for _, k := range []string{"report/index.html", "run.json", "submit/snapshot.json", "submit/config.yaml"} {
		if !contains(keys, k) {
			t.Errorf("the store lacks %s", k)
		}
	}
	for _, k := range keys {
		if strings.HasPrefix(k, "claims/") || strings.Contains(k, ".tmp") {
			t.Errorf("the store holds %s", k)
		}
	}
	// All models exist: a submission is the finish Job alone.
	runCmd(t, bin, "submit", "kubernetes", cfg, "--image", "registry.example/pmeter:1", "--store", url, "-o", manifests)
	b, _ = os.ReadFile(manifests)
	if jobs, err = DecodeJobs(b); err != nil || len(jobs) != 1 || !strings.Contains(jobs[0].Name, "finish") {
		t.Errorf("manifests with every model done: %d Jobs, %v", len(jobs), err)
	}
}

func countPrefix(keys []string, p string) int {
	n := 0
	for _, k := range keys {
		if strings.HasPrefix(k, p) {
			n++
		}
	}
	return n
}

func contains(keys []string, k string) bool {
	for _, x := range keys {
		if x == k {
			return true
		}
	}
	return false
}

func runExit(name string, args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		code = -1
	}
	return code, out.String(), errb.String()
}

func checkTrainJob(t *testing.T, j *batchv1.Job, models int, url string) {
	t.Helper()
	if err := ValidateJob(j); err != nil {
		t.Error(err)
	}
	s := j.Spec
	if s.CompletionMode == nil || *s.CompletionMode != batchv1.IndexedCompletion || s.Completions == nil || int(*s.Completions) != models ||
		s.BackoffLimitPerIndex == nil || s.Template.Spec.RestartPolicy != corev1.RestartPolicyNever {
		t.Errorf("model Job %s: mode %v, completions %v, backoffLimitPerIndex %v, restart %s; want Indexed, %d, set, Never",
			j.Name, s.CompletionMode, s.Completions, s.BackoffLimitPerIndex, s.Template.Spec.RestartPolicy, models)
	}
	c := s.Template.Spec.Containers[0]
	if strings.Join(c.Args, " ") != "task train --out "+url || c.Image != "registry.example/pmeter:1" {
		t.Errorf("model Job container: image %s, args %q", c.Image, c.Args)
	}
	if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() {
		t.Errorf("model Job container without resource requests: %v", c.Resources)
	}
}

func checkFinishJob(t *testing.T, j *batchv1.Job, url string) {
	t.Helper()
	if err := ValidateJob(j); err != nil {
		t.Error(err)
	}
	c := j.Spec.Template.Spec.Containers[0]
	if !strings.HasPrefix(strings.Join(c.Args, " "), "task finish --out "+url+" --wait --timeout ") || c.Resources.Requests.Memory().IsZero() {
		t.Errorf("finish Job container: args %q, resources %v", c.Args, c.Resources)
	}
}

// TestDecodeJobsStrict: a misspelt field is an error, and ValidateJob refuses what the API server would.
func TestDecodeJobsStrict(t *testing.T) {
	doc := "apiVersion: batch/v1\nkind: Job\nmetadata: {name: x}\nspec:\n  completionsMode: Indexed\n  template: {spec: {containers: [{name: c, image: i}]}}\n"
	if _, err := DecodeJobs([]byte(doc)); err == nil || !strings.Contains(err.Error(), "completionsMode") {
		t.Errorf("a misspelt field decodes: %v", err)
	}
	doc = strings.Replace(doc, "completionsMode", "completionMode", 1) + "  backoffLimitPerIndex: 1\n"
	jobs, err := DecodeJobs([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	err = ValidateJob(jobs[0])
	for _, want := range []string{"completions: required", "restartPolicy Never", "no CPU request", "restartPolicy \"\""} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ValidateJob: %v; want it to say %q", err, want)
		}
	}
}
