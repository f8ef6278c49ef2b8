package textmatch

import "testing"

func TestClosest(t *testing.T) {
	kinds := []string{"Deployment", "DaemonSet", "Pod", "Service"}
	for in, want := range map[string]string{
		"Deploymnet": "Deployment", "pods": "Pod", "Pods": "Pod", "service": "Service",
		"Ingress": "", "P": "", "": "",
	} {
		if got := Closest(in, kinds); got != want {
			t.Errorf("Closest(%q) = %q, want %q", in, got, want)
		}
	}
	if d := Distance("kitten", "sitting"); d != 3 {
		t.Errorf("Distance = %d, want 3", d)
	}
}
