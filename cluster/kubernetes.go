package cluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path"
	"strconv"
	"strings"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/yaml"

	"github.com/pmeter/pmeter/audit"
)

// Kubernetes writes the manifests that run a run on Kubernetes: an Indexed Job (batch/v1,
// completionMode Indexed) with one completion per missing model, each pod running 'pmeter task train'
// with the model taken from JOB_COMPLETION_INDEX, and a second Job running 'pmeter task finish --wait',
// since Kubernetes Jobs cannot depend on one another. The run directory is on object storage (Store),
// which every pod reads and writes. backoffLimitPerIndex (each model retried on its own) needs
// Kubernetes 1.29 or later (beta and on by default from 1.29, stable in 1.33).
type Kubernetes struct {
	// Image is the container image holding pmeter at /pmeter (the repository's Dockerfile).
	Image string
	// Store is the run directory's URL (s3://bucket/prefix, gs://…, azblob://…).
	Store string
	// Namespace of the Jobs ("" leaves it to kubectl's context).
	Namespace string
	// CPU and Memory are each model pod's requests (the memory also its limit); FinishCPU and
	// FinishMemory the finish pod's. Defaults 1, 2Gi, 1, 4Gi.
	CPU, Memory, FinishCPU, FinishMemory string
	// MaxParallel caps the pods running at once (the Job's parallelism; 0: every model at once).
	MaxParallel int
	// BackoffLimitPerIndex is the retries of each model (0: 2).
	BackoffLimitPerIndex int
	// Secret, if set, names a Secret whose keys become the pods' environment: the store's credentials
	// in the cloud's standard variables (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION, …).
	Secret string
	// ServiceAccount, if set, runs the pods under it (workload identity instead of a Secret).
	ServiceAccount string
	// DataClaim, if set, names a PersistentVolumeClaim mounted read-only at the config's data.data_dir.
	DataClaim string
	// FinishTimeout bounds the finish Job's wait (task finish --timeout), e.g. "24h" (default).
	FinishTimeout string
}

// KubernetesJobs are the manifests of a submission.
type KubernetesJobs struct {
	// Models are the model tasks of Train (the models missing from the store); Train is nil when none is.
	Models        []int
	Train, Finish *batchv1.Job
}

// Manifests builds the Jobs of run r, whose run directory (r.Config.Run.LogDir) is k.Store.
func (k Kubernetes) Manifests(ctx context.Context, r *audit.TaskRun) (*KubernetesJobs, error) {
	if k.Image == "" {
		return nil, errors.New("cluster: --image is required: an image with pmeter at /pmeter (see the Dockerfile)")
	}
	if !audit.IsURL(k.Store) {
		return nil, fmt.Errorf("cluster: --store %q: pods share no file system; give the run directory as an object-store URL (s3://bucket/prefix, gs://…, azblob://…)", k.Store)
	}
	q := func(flag, v, def string) (resource.Quantity, error) {
		if v == "" {
			v = def
		}
		x, err := resource.ParseQuantity(v)
		if err != nil {
			return x, fmt.Errorf("cluster: --%s %q: %w", flag, v, err)
		}
		return x, nil
	}
	cpu, err := q("cpu", k.CPU, "1")
	if err != nil {
		return nil, err
	}
	mem, err := q("memory", k.Memory, "2Gi")
	if err != nil {
		return nil, err
	}
	fcpu, err := q("finish-cpu", k.FinishCPU, "1")
	if err != nil {
		return nil, err
	}
	fmem, err := q("finish-memory", k.FinishMemory, "4Gi")
	if err != nil {
		return nil, err
	}
	timeout := k.FinishTimeout
	if timeout == "" {
		timeout = "24h"
	}
	run := r.Config.Hash()[:10]
	labels := map[string]string{"app.kubernetes.io/name": "pmeter", "app.kubernetes.io/component": "", "pmeter.dev/run": run}
	missing, err := r.Missing(ctx)
	if err != nil {
		return nil, err
	}
	out := &KubernetesJobs{Models: missing}
	// Names carry the run and the models submitted, so that a resubmission of other models is a new
	// Job (a Job's template cannot change) and the same resubmission is the same Job.
	sub := hashModels(out.Models)

	if n := len(out.Models); n > 0 {
		env := []corev1.EnvVar{}
		if n != r.Plan.Models {
			// Completion index i trains model PMETER_TASK_MODELS[i].
			env = append(env, corev1.EnvVar{Name: "PMETER_TASK_MODELS", Value: strings.Trim(strings.Join(strings.Fields(fmt.Sprint(out.Models)), ","), "[]")})
		}
		l := copyLabels(labels, "train")
		par := int32(n)
		if k.MaxParallel > 0 && k.MaxParallel < n {
			par = int32(k.MaxParallel)
		}
		backoff := int32(2)
		if k.BackoffLimitPerIndex > 0 {
			backoff = int32(k.BackoffLimitPerIndex)
		}
		out.Train = k.job("pmeter-"+run+"-train-"+sub, l, batchv1.JobSpec{
			Completions: ptr(int32(n)), Parallelism: &par, CompletionMode: ptr(batchv1.IndexedCompletion),
			BackoffLimitPerIndex: &backoff,
			// A pod replaced only once it has failed, never two of one model at once.
			PodReplacementPolicy: ptr(batchv1.Failed),
		}, k.container("train", []string{"task", "train", "--out", k.Store}, env, cpu, mem, r))
	}
	fl := copyLabels(labels, "finish")
	out.Finish = k.job("pmeter-"+run+"-finish-"+sub, fl, batchv1.JobSpec{BackoffLimit: ptr(int32(2))},
		k.container("finish", []string{"task", "finish", "--out", k.Store, "--wait", "--timeout", timeout, "--poll", "30s"}, nil, fcpu, fmem, r))
	for _, j := range []*batchv1.Job{out.Train, out.Finish} {
		if j == nil {
			continue
		}
		if err := ValidateJob(j); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func hashModels(m []int) string {
	if len(m) == 0 {
		return "none"
	}
	h := uint32(2166136261)
	for _, x := range m {
		for _, b := range []byte(strconv.Itoa(x) + ",") {
			h = (h ^ uint32(b)) * 16777619
		}
	}
	return fmt.Sprintf("%08x", h)[:6]
}

func ptr[T any](v T) *T { return &v }

func copyLabels(l map[string]string, component string) map[string]string {
	out := map[string]string{}
	for k, v := range l {
		out[k] = v
	}
	out["app.kubernetes.io/component"] = component
	return out
}

func (k Kubernetes) job(name string, labels map[string]string, spec batchv1.JobSpec, c corev1.Container) *batchv1.Job {
	spec.TTLSecondsAfterFinished = ptr(int32(7 * 24 * 3600))
	spec.Template = corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: labels},
		Spec: corev1.PodSpec{
			RestartPolicy:      corev1.RestartPolicyNever, // backoffLimitPerIndex requires Never
			ServiceAccountName: k.ServiceAccount,
			Containers:         []corev1.Container{c},
			Volumes:            []corev1.Volume{{Name: "scratch", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}},
			SecurityContext:    &corev1.PodSecurityContext{RunAsNonRoot: ptr(true)},
		},
	}
	if k.DataClaim != "" {
		spec.Template.Spec.Volumes = append(spec.Template.Spec.Volumes, corev1.Volume{Name: "data",
			VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: k.DataClaim, ReadOnly: true}}})
	}
	return &batchv1.Job{
		TypeMeta:   metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: k.Namespace, Labels: labels},
		Spec:       spec,
	}
}

func (k Kubernetes) container(name string, args []string, env []corev1.EnvVar, cpu, mem resource.Quantity, r *audit.TaskRun) corev1.Container {
	// The run directory is staged under TMPDIR, an emptyDir: the image's file system may be read-only.
	env = append(env, corev1.EnvVar{Name: "TMPDIR", Value: "/scratch"})
	c := corev1.Container{
		Name: name, Image: k.Image, Command: []string{"/pmeter"}, Args: args, Env: env,
		Resources: corev1.ResourceRequirements{
			Requests: corev1.ResourceList{corev1.ResourceCPU: cpu, corev1.ResourceMemory: mem},
			Limits:   corev1.ResourceList{corev1.ResourceMemory: mem},
		},
		VolumeMounts: []corev1.VolumeMount{{Name: "scratch", MountPath: "/scratch"}},
	}
	if k.Secret != "" {
		c.EnvFrom = []corev1.EnvFromSource{{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: k.Secret}}}}
	}
	if k.DataClaim != "" {
		dir := r.Config.Data.DataDir
		if !path.IsAbs(dir) {
			dir = path.Join("/data", dir)
		}
		c.VolumeMounts = append(c.VolumeMounts, corev1.VolumeMount{Name: "data", MountPath: dir, ReadOnly: true})
	}
	return c
}

// YAML writes jobs as one multi-document YAML stream, for kubectl apply -f.
func (j *KubernetesJobs) YAML() ([]byte, error) {
	var b bytes.Buffer
	for _, job := range []*batchv1.Job{j.Train, j.Finish} {
		if job == nil {
			continue
		}
		y, err := yaml.Marshal(job)
		if err != nil {
			return nil, err
		}
		b.WriteString("---\n")
		b.Write(y)
	}
	return b.Bytes(), nil
}

// Apply hands the manifests to 'kubectl apply -f -' and returns what kubectl prints.
func (j *KubernetesJobs) Apply(ctx context.Context, kubectl string) (string, error) {
	y, err := j.YAML()
	if err != nil {
		return "", err
	}
	if kubectl == "" {
		kubectl = "kubectl"
	}
	cmd := exec.CommandContext(ctx, kubectl, "apply", "-f", "-")
	cmd.Stdin = bytes.NewReader(y)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("%s apply: %w: %s", kubectl, err, strings.TrimSpace(errb.String()))
	}
	return out.String(), nil
}

// DecodeJobs decodes a multi-document YAML stream strictly (an unknown or misspelt field is an error)
// into batch/v1 Jobs.
func DecodeJobs(b []byte) ([]*batchv1.Job, error) {
	var out []*batchv1.Job
	for i, doc := range strings.Split("\n"+string(b), "\n---\n") {
		if strings.TrimSpace(doc) == "" {
			continue
		}
		var j batchv1.Job
		if err := yaml.UnmarshalStrict([]byte(doc), &j); err != nil {
			return nil, fmt.Errorf("document %d: %w", i, err)
		}
		out = append(out, &j)
	}
	return out, nil
}

// ValidateJob checks the rules of the Kubernetes API server's Job validation that these manifests
// rely on (k8s.io/kubernetes/pkg/apis/batch/validation, which is not importable as a library): names
// and labels, the Indexed mode's completions and limits, backoffLimitPerIndex with restartPolicy Never,
// the pod template's labels, containers and resources.
func ValidateJob(j *batchv1.Job) error {
	var errs []string
	add := func(f string, a ...any) { errs = append(errs, fmt.Sprintf(f, a...)) }
	if j.APIVersion != "batch/v1" || j.Kind != "Job" {
		add("apiVersion/kind %s/%s, want batch/v1 Job", j.APIVersion, j.Kind)
	}
	// A Job's name is a DNS-1123 subdomain, and at most 63 characters since it becomes a pod label.
	for _, m := range validation.IsDNS1123Subdomain(j.Name) {
		add("metadata.name %q: %s", j.Name, m)
	}
	if len(j.Name) > validation.DNS1123LabelMaxLength {
		add("metadata.name %q: longer than %d characters", j.Name, validation.DNS1123LabelMaxLength)
	}
	if j.Namespace != "" {
		for _, m := range validation.IsDNS1123Label(j.Namespace) {
			add("metadata.namespace %q: %s", j.Namespace, m)
		}
	}
	for _, l := range []map[string]string{j.Labels, j.Spec.Template.Labels} {
		for k, v := range l {
			for _, m := range validation.IsQualifiedName(k) {
				add("label key %q: %s", k, m)
			}
			for _, m := range validation.IsValidLabelValue(v) {
				add("label %s value %q: %s", k, v, m)
			}
		}
	}
	s := j.Spec
	nonNeg := func(name string, v *int32) {
		if v != nil && *v < 0 {
			add("spec.%s %d: must be non-negative", name, *v)
		}
	}
	nonNeg("completions", s.Completions)
	nonNeg("parallelism", s.Parallelism)
	nonNeg("backoffLimit", s.BackoffLimit)
	nonNeg("backoffLimitPerIndex", s.BackoffLimitPerIndex)
	nonNeg("ttlSecondsAfterFinished", s.TTLSecondsAfterFinished)
	indexed := s.CompletionMode != nil && *s.CompletionMode == batchv1.IndexedCompletion
	if s.CompletionMode != nil && !indexed && *s.CompletionMode != batchv1.NonIndexedCompletion {
		add("spec.completionMode %q: want NonIndexed or Indexed", *s.CompletionMode)
	}
	if indexed {
		if s.Completions == nil {
			add("spec.completions: required when completionMode is Indexed")
		} else if *s.Completions > 100000 {
			add("spec.completions %d: at most 100000 when completionMode is Indexed", *s.Completions)
		}
		if s.Parallelism != nil && *s.Parallelism > 100000 {
			add("spec.parallelism %d: at most 100000 when completionMode is Indexed", *s.Parallelism)
		}
	}
	if s.BackoffLimitPerIndex != nil {
		if !indexed {
			add("spec.backoffLimitPerIndex: requires completionMode Indexed")
		}
		if s.Template.Spec.RestartPolicy != corev1.RestartPolicyNever {
			add("spec.backoffLimitPerIndex: requires the pod template's restartPolicy Never")
		}
	}
	if s.PodReplacementPolicy != nil && *s.PodReplacementPolicy != batchv1.Failed && *s.PodReplacementPolicy != batchv1.TerminatingOrFailed {
		add("spec.podReplacementPolicy %q: want Failed or TerminatingOrFailed", *s.PodReplacementPolicy)
	}
	switch s.Template.Spec.RestartPolicy {
	case corev1.RestartPolicyNever, corev1.RestartPolicyOnFailure:
	default:
		add("spec.template.spec.restartPolicy %q: a Job's pods restart Never or OnFailure", s.Template.Spec.RestartPolicy)
	}
	if len(s.Template.Spec.Containers) == 0 {
		add("spec.template.spec.containers: at least one container")
	}
	vols := map[string]bool{}
	for _, v := range s.Template.Spec.Volumes {
		for _, m := range validation.IsDNS1123Label(v.Name) {
			add("volume name %q: %s", v.Name, m)
		}
		vols[v.Name] = true
	}
	for _, c := range s.Template.Spec.Containers {
		for _, m := range validation.IsDNS1123Label(c.Name) {
			add("container name %q: %s", c.Name, m)
		}
		if c.Image == "" {
			add("container %s: image is required", c.Name)
		}
		for _, e := range c.Env {
			for _, m := range validation.IsEnvVarName(e.Name) {
				add("container %s: env %q: %s", c.Name, e.Name, m)
			}
		}
		for _, vm := range c.VolumeMounts {
			if !vols[vm.Name] {
				add("container %s: volumeMount %q names no volume", c.Name, vm.Name)
			}
			if !path.IsAbs(vm.MountPath) {
				add("container %s: mountPath %q is not absolute", c.Name, vm.MountPath)
			}
		}
		for name, req := range c.Resources.Requests {
			if lim, ok := c.Resources.Limits[name]; ok && req.Cmp(lim) > 0 {
				add("container %s: request %s %s exceeds its limit %s", c.Name, name, req.String(), lim.String())
			}
			if req.Sign() <= 0 {
				add("container %s: request %s %s must be positive", c.Name, name, req.String())
			}
		}
		if _, ok := c.Resources.Requests[corev1.ResourceCPU]; !ok {
			add("container %s: no CPU request", c.Name)
		}
		if _, ok := c.Resources.Requests[corev1.ResourceMemory]; !ok {
			add("container %s: no memory request", c.Name)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("Job %s: %s", j.Name, strings.Join(errs, "; "))
	}
	return nil
}
