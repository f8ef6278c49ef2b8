package attribution

import (
	"context"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/kubernetes"

	"github.com/kordon-dev/kordon/internal/sensor/event"
)

// APIPods looks containers up in the pods of one node, listed from the
// API server (the sensor's DaemonSet may list pods). The list is refreshed
// when a container is missing, at most once per MinInterval. It is safe
// for concurrent use.
type APIPods struct {
	client kubernetes.Interface
	node   string
	// MinInterval is the least time between two lists (default 1s).
	MinInterval time.Duration

	mu        sync.Mutex
	byID      map[string]*event.Workload
	lastList  time.Time
	listError error
}

// NewAPIPods returns a pod source for the pods of node ("" = all nodes).
func NewAPIPods(client kubernetes.Interface, node string) *APIPods {
	return &APIPods{client: client, node: node, MinInterval: time.Second, byID: map[string]*event.Workload{}}
}

// Lookup implements Pods.
func (a *APIPods) Lookup(ctx context.Context, podUID, containerID string) *event.Workload {
	a.mu.Lock()
	defer a.mu.Unlock()
	if w, ok := a.byID[containerID]; ok {
		c := *w
		return &c
	}
	if time.Since(a.lastList) < a.MinInterval {
		return nil
	}
	a.lastList = time.Now()
	a.listError = a.refresh(ctx)
	if w, ok := a.byID[containerID]; ok {
		c := *w
		return &c
	}
	return nil
}

// Err returns the last list's error, if any.
func (a *APIPods) Err() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.listError
}

func (a *APIPods) refresh(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	opts := metav1.ListOptions{}
	if a.node != "" {
		opts.FieldSelector = fields.OneTermEqualSelector("spec.nodeName", a.node).String()
	}
	list, err := a.client.CoreV1().Pods("").List(ctx, opts)
	if err != nil {
		return err
	}
	byID := map[string]*event.Workload{}
	for i := range list.Items {
		for id, w := range Workloads(&list.Items[i]) {
			byID[id] = w
		}
	}
	a.byID = byID
	return nil
}

// Workloads returns the workload of each container of a pod that has
// started, by container id (without the runtime:// prefix).
func Workloads(pod *corev1.Pod) map[string]*event.Workload {
	kind, owner := Owner(pod)
	images := map[string]string{}
	for _, c := range append(append([]corev1.Container{}, pod.Spec.InitContainers...), pod.Spec.Containers...) {
		images[c.Name] = c.Image
	}
	out := map[string]*event.Workload{}
	statuses := append(append(append([]corev1.ContainerStatus{}, pod.Status.InitContainerStatuses...), pod.Status.ContainerStatuses...), pod.Status.EphemeralContainerStatuses...)
	for _, s := range statuses {
		_, id, ok := strings.Cut(s.ContainerID, "://")
		if !ok || id == "" {
			continue
		}
		img := images[s.Name]
		if img == "" {
			img = s.Image
		}
		out[id] = &event.Workload{
			Namespace: pod.Namespace, Pod: pod.Name, PodUID: string(pod.UID),
			Container: s.Name, ContainerID: id,
			OwnerKind: kind, Owner: owner,
			Image: img, ImageDigest: digest(s.ImageID),
		}
	}
	return out
}

// digest returns the sha256:... part of a status's imageID
// (docker-pullable://repo@sha256:..., or a bare digest).
func digest(imageID string) string {
	if i := strings.LastIndex(imageID, "sha256:"); i >= 0 {
		return imageID[i:]
	}
	return ""
}

// Owner names the workload a pod belongs to: its controller, with a
// ReplicaSet made by a Deployment (the pod-template-hash suffix) named as
// the Deployment and a Job made by a CronJob (a numeric suffix) as the
// CronJob; the pod itself when it has no controller.
func Owner(pod *corev1.Pod) (kind, name string) {
	ref := metav1.GetControllerOf(pod)
	if ref == nil {
		return "Pod", pod.Name
	}
	switch ref.Kind {
	case "ReplicaSet":
		if h := pod.Labels["pod-template-hash"]; h != "" {
			if d, ok := strings.CutSuffix(ref.Name, "-"+h); ok {
				return "Deployment", d
			}
		}
	case "Job":
		if i := strings.LastIndexByte(ref.Name, '-'); i > 0 && isDigits(ref.Name[i+1:]) {
			return "CronJob", ref.Name[:i]
		}
	}
	return ref.Kind, ref.Name
}

func isDigits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s != ""
}
