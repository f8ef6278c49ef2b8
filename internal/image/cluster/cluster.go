// Package cluster finds the images running in a Kubernetes cluster: the
// image of every container of every pod, by the digest the kubelet
// reports in the pod's status (imageID), grouped so that each distinct
// image is scanned once, with the workloads that run it (a pod is
// reported as its controller: Deployment, StatefulSet, DaemonSet, Job,
// or the ReplicaSet or pod itself).
package cluster

import (
	"context"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// Workload is a workload running an image.
type Workload struct {
	Namespace string `json:"namespace"`
	Kind      string `json:"kind"`
	Name      string `json:"name"`
	// Containers are the container names that run the image.
	Containers []string `json:"containers"`
}

func (w Workload) String() string { return w.Kind + " " + w.Namespace + "/" + w.Name }

// Image is one distinct running image.
type Image struct {
	// Ref is the reference to pull, by digest (repo@sha256:...).
	Ref string `json:"ref"`
	// Digest is the manifest digest the kubelet reported.
	Digest    string     `json:"digest"`
	Workloads []Workload `json:"workloads"`
}

// Running lists the images of the pods of namespace ("" for all), with
// their workloads, sorted by reference. Containers whose status has no
// digest yet (pending pods) are returned as warnings naming the pod.
func Running(ctx context.Context, client kubernetes.Interface, namespace string) ([]Image, []string, error) {
	byRef := map[string]*Image{}
	var warnings []string
	opts := metav1.ListOptions{Limit: 500}
	for {
		list, err := client.CoreV1().Pods(namespace).List(ctx, opts)
		if err != nil {
			return nil, nil, fmt.Errorf("list pods: %w", err)
		}
		for i := range list.Items {
			warnings = append(warnings, addPod(byRef, &list.Items[i])...)
		}
		if list.Continue == "" {
			break
		}
		opts.Continue = list.Continue
	}
	out := make([]Image, 0, len(byRef))
	for _, im := range byRef {
		slices.SortFunc(im.Workloads, func(a, b Workload) int { return strings.Compare(a.String(), b.String()) })
		out = append(out, *im)
	}
	slices.SortFunc(out, func(a, b Image) int { return strings.Compare(a.Ref, b.Ref) })
	return out, warnings, nil
}

func addPod(byRef map[string]*Image, pod *corev1.Pod) []string {
	var warnings []string
	w := workloadOf(pod)
	statuses := slices.Concat(pod.Status.InitContainerStatuses, pod.Status.ContainerStatuses, pod.Status.EphemeralContainerStatuses)
	for _, c := range slices.Concat(pod.Spec.InitContainers, pod.Spec.Containers) {
		if !slices.ContainsFunc(statuses, func(cs corev1.ContainerStatus) bool { return cs.Name == c.Name }) {
			warnings = append(warnings, fmt.Sprintf("pod %s/%s container %s: no status yet (image %s); not scanned", pod.Namespace, pod.Name, c.Name, c.Image))
		}
	}
	for _, cs := range statuses {
		ref, digest, ok := PullRef(cs.ImageID, cs.Image)
		if !ok {
			warnings = append(warnings, fmt.Sprintf("pod %s/%s container %s: no image digest in its status (imageID %q); not scanned", pod.Namespace, pod.Name, cs.Name, cs.ImageID))
			continue
		}
		im := byRef[ref]
		if im == nil {
			im = &Image{Ref: ref, Digest: digest}
			byRef[ref] = im
		}
		i := slices.IndexFunc(im.Workloads, func(x Workload) bool {
			return x.Namespace == w.Namespace && x.Kind == w.Kind && x.Name == w.Name
		})
		if i < 0 {
			im.Workloads = append(im.Workloads, w)
			i = len(im.Workloads) - 1
		}
		if !slices.Contains(im.Workloads[i].Containers, cs.Name) {
			im.Workloads[i].Containers = append(im.Workloads[i].Containers, cs.Name)
			slices.Sort(im.Workloads[i].Containers)
		}
	}
	return warnings
}

// PullRef turns a container status's imageID ("docker-pullable://repo@sha256:…",
// "repo@sha256:…") into a reference to pull by digest. An imageID that is
// only a digest (some runtimes report the config digest) is not pullable:
// ok is false.
func PullRef(imageID, image string) (ref, digest string, ok bool) {
	id := imageID
	if i := strings.Index(id, "://"); i >= 0 {
		id = id[i+3:]
	}
	repo, dig, found := strings.Cut(id, "@")
	if !found || repo == "" || !strings.HasPrefix(dig, "sha256:") || len(dig) != len("sha256:")+64 {
		return "", "", false
	}
	return repo + "@" + dig, dig, true
}

// workloadOf names the workload a pod belongs to: its controller, with a
// ReplicaSet named after its pod-template-hash reported as its Deployment.
func workloadOf(pod *corev1.Pod) Workload {
	w := Workload{Namespace: pod.Namespace, Kind: "Pod", Name: pod.Name}
	for _, o := range pod.OwnerReferences {
		if o.Controller == nil || !*o.Controller {
			continue
		}
		w.Kind, w.Name = o.Kind, o.Name
		if o.Kind == "ReplicaSet" {
			if h := pod.Labels["pod-template-hash"]; h != "" && strings.HasSuffix(o.Name, "-"+h) {
				w.Kind, w.Name = "Deployment", strings.TrimSuffix(o.Name, "-"+h)
			}
		}
		break
	}
	return w
}
