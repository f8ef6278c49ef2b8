package rules_test

import (
	"fmt"
	"math/rand/v2"
)

// This file generates random pod specs for TestPSSDifferential. Every field a
// Pod Security Standards check reads is covered with allowed, forbidden,
// unset and edge values; objects are plain JSON-like maps with int64
// numbers, as internal/k8s loads them.

// absent is an option meaning "leave the field out".
type absent struct{}

// podGen draws pod specs from a seeded source. In hardened mode each field
// takes its first (compliant) option most of the time, so that restricted
// checks also pass often enough to test both verdicts.
type podGen struct {
	r        *rand.Rand
	hardened bool
}

// newPodGen returns the generator for object i of the run with this seed:
// each object can be regenerated on its own from (seed, i).
func newPodGen(seed uint64, i int) *podGen {
	r := rand.New(rand.NewPCG(seed, uint64(i)))
	return &podGen{r: r, hardened: r.IntN(100) < 40}
}

// pick returns one of opts: in hardened mode the first with probability
// 0.85, otherwise a uniformly random one. Options that are functions are
// called only when picked, so that unused options do not consume randomness.
func (g *podGen) pick(opts ...any) any {
	var v any
	if g.hardened && g.r.IntN(100) < 85 {
		v = opts[0]
	} else {
		v = opts[g.r.IntN(len(opts))]
	}
	if f, ok := v.(func() any); ok {
		return f()
	}
	return v
}

func (g *podGen) chance(percent int) bool { return g.r.IntN(100) < percent }

// put sets m[key] = v unless v is absent.
func put(m map[string]any, key string, v any) {
	if _, ok := v.(absent); !ok {
		m[key] = v
	}
}

func obj(kv ...any) map[string]any {
	m := make(map[string]any, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		put(m, kv[i].(string), kv[i+1])
	}
	return m
}

func list(vs ...any) []any { return append([]any{}, vs...) }

// capabilityPool mixes the baseline defaults, NET_BIND_SERVICE, dangerous
// capabilities and spellings the checks must not normalise.
var capabilityPool = []string{
	"AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD",
	"NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT",
	"NET_RAW", "SYS_ADMIN", "SYS_PTRACE", "BPF", "ALL", "all", "All", "net_raw",
	"chown", "CAP_SYS_ADMIN", "", "NET_BIND_SERVICE ",
}

var sysctlPool = []string{
	"kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.tcp_syncookies",
	"net.ipv4.ping_group_range", "net.ipv4.ip_unprivileged_port_start", "net.ipv4.ip_local_reserved_ports",
	"net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl",
	"net.ipv4.tcp_keepalive_probes", "net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem",
	"net.ipv4.tcp_slow_start_after_idle", "net.ipv4.tcp_notsent_lowat",
	"kernel.msgmax", "net.core.somaxconn", "net/ipv4/tcp_syncookies", "KERNEL.SHM_RMID_FORCED",
	"net.ipv4.tcp_syncookies ", "", "vm.swappiness", "net.ipv4.ip_forward",
}

func (g *podGen) from(pool []string) string { return pool[g.r.IntN(len(pool))] }

func (g *podGen) some(pool []string, max int) []any {
	n := 1 + g.r.IntN(max)
	out := make([]any, n)
	for i := range out {
		out[i] = g.from(pool)
	}
	return out
}

func (g *podGen) seccompProfile(containerLevel bool) any {
	valid := func() any { return obj("type", "RuntimeDefault") }
	opts := []any{
		valid, absent{},
		func() any { return obj("type", "Localhost", "localhostProfile", "profiles/audit.json") },
		func() any { return obj("type", "Unconfined") },
		func() any { return obj() },
		func() any { return obj("type", "") },
		func() any { return obj("type", "runtimedefault") },
		func() any { return obj("type", "Bogus") },
	}
	if containerLevel {
		opts[0], opts[1] = opts[1], opts[0]
	}
	return g.pick(opts...)
}

func (g *podGen) appArmorProfile() any {
	return g.pick(absent{},
		func() any { return obj("type", "RuntimeDefault") },
		func() any { return obj("type", "Localhost", "localhostProfile", "k8s-apparmor") },
		func() any { return obj("type", "Unconfined") },
		func() any { return obj() },
		func() any { return obj("localhostProfile", "k8s-apparmor") },
		func() any { return obj("type", "runtime/default") },
		func() any { return obj("type", "localhost") },
	)
}

func (g *podGen) seLinuxOptions() any {
	return g.pick(absent{}, func() any { return obj() }, func() any {
		return obj(
			"type", g.pick(absent{}, "container_t", "", "container_init_t", "container_kvm_t", "container_engine_t",
				"spc_t", "unconfined_t", "CONTAINER_T"),
			"user", g.pick(absent{}, "", "system_u"),
			"role", g.pick(absent{}, "", "system_r"),
			"level", g.pick(absent{}, "s0:c123,c456"),
		)
	})
}

func (g *podGen) windowsOptions() any {
	return g.pick(absent{},
		func() any { return obj() },
		func() any { return obj("hostProcess", false) },
		func() any { return obj("hostProcess", true) },
		func() any { return obj("runAsUserName", "ContainerUser") },
		func() any { return obj("hostProcess", true, "runAsUserName", `NT AUTHORITY\SYSTEM`) },
	)
}

func (g *podGen) sysctls() any {
	return g.pick(absent{}, func() any { return list() }, func() any {
		n := 1 + g.r.IntN(3)
		out := make([]any, n)
		for i := range out {
			if g.chance(5) {
				out[i] = obj("value", "1") // no name
			} else {
				out[i] = obj("name", g.from(sysctlPool), "value", "1")
			}
		}
		return out
	})
}

func (g *podGen) podSecurityContext() map[string]any {
	return obj(
		"runAsNonRoot", g.pick(true, absent{}, false),
		"runAsUser", g.pick(int64(1000), absent{}, int64(0), int64(65534)),
		"runAsGroup", g.pick(absent{}, int64(0), int64(3000)),
		"fsGroup", g.pick(absent{}, int64(2000)),
		"seccompProfile", g.seccompProfile(false),
		"appArmorProfile", g.appArmorProfile(),
		"seLinuxOptions", g.seLinuxOptions(),
		"sysctls", g.sysctls(),
		"windowsOptions", g.windowsOptions(),
	)
}

func (g *podGen) capabilities() any {
	return g.pick(
		func() any {
			return obj(
				"drop", g.pick(list("ALL"), absent{}, list(), func() any { return g.some(capabilityPool, 3) }),
				"add", g.pick(absent{}, list(), list("NET_BIND_SERVICE"), func() any { return g.some(capabilityPool, 3) }),
			)
		},
		absent{},
		func() any { return obj() },
	)
}

func (g *podGen) containerSecurityContext() map[string]any {
	return obj(
		"privileged", g.pick(absent{}, false, true),
		"allowPrivilegeEscalation", g.pick(false, absent{}, true),
		"capabilities", g.capabilities(),
		"procMount", g.pick(absent{}, "Default", "Unmasked", "", "default"),
		"runAsNonRoot", g.pick(absent{}, true, false),
		"runAsUser", g.pick(absent{}, int64(1000), int64(0)),
		"readOnlyRootFilesystem", g.pick(true, absent{}, false),
		"seccompProfile", g.seccompProfile(true),
		"appArmorProfile", g.appArmorProfile(),
		"seLinuxOptions", g.seLinuxOptions(),
		"windowsOptions", g.windowsOptions(),
	)
}

func (g *podGen) host() any {
	return g.pick(absent{}, "", "127.0.0.1", "169.254.169.254", "kubernetes.default.svc")
}

func (g *podGen) probe() any {
	return g.pick(
		func() any { return obj("httpGet", obj("path", "/healthz", "port", int64(8080), "host", g.host())) },
		func() any { return obj("tcpSocket", obj("port", int64(8080), "host", g.host())) },
		func() any { return obj("exec", obj("command", list("/bin/true"))) },
		func() any { return obj("grpc", obj("port", int64(9090))) },
	)
}

func (g *podGen) lifecycleHandler() any {
	return g.pick(absent{},
		func() any { return obj("exec", obj("command", list("/bin/true"))) },
		func() any { return obj("httpGet", obj("path", "/hook", "port", int64(8080), "host", g.host())) },
		func() any { return obj("tcpSocket", obj("port", int64(8080), "host", g.host())) },
		func() any { return obj("sleep", obj("seconds", int64(5))) },
	)
}

func (g *podGen) ports() any {
	return g.pick(absent{}, func() any { return list() }, func() any {
		n := 1 + g.r.IntN(2)
		out := make([]any, n)
		for i := range out {
			out[i] = obj("containerPort", int64(8080+i), "hostPort", g.pick(absent{}, int64(0), int64(8080), int64(443)),
				"protocol", g.pick(absent{}, "TCP", "UDP"))
		}
		return out
	})
}

func (g *podGen) container(name string) map[string]any {
	c := obj("name", name, "image", "example.com/app:1.0")
	put(c, "ports", g.ports())
	put(c, "securityContext", g.pick(func() any { return g.containerSecurityContext() }, absent{}, func() any { return obj() }))
	for _, p := range []string{"livenessProbe", "readinessProbe", "startupProbe"} {
		put(c, p, g.pick(absent{}, g.probe))
	}
	put(c, "lifecycle", g.pick(absent{}, func() any { return obj() }, func() any {
		return obj("postStart", g.lifecycleHandler(), "preStop", g.lifecycleHandler())
	}))
	return c
}

func (g *podGen) containers(prefix string, min, max int) []any {
	n := min + g.r.IntN(max-min+1)
	out := make([]any, n)
	for i := range out {
		out[i] = g.container(fmt.Sprintf("%s%d", prefix, i))
	}
	return out
}

// volumeSources maps each inline volume type to a constructor of a valid
// source of that type.
var volumeSources = []struct {
	key string
	src func() any
}{
	// The allowed types of restrictedVolumes first.
	{"configMap", func() any { return obj("name", "cfg") }},
	{"csi", func() any { return obj("driver", "secrets-store.csi.k8s.io") }},
	{"downwardAPI", func() any { return obj("items", list()) }},
	{"emptyDir", func() any { return obj() }},
	{"ephemeral", func() any {
		return obj("volumeClaimTemplate", obj("spec", obj("accessModes", list("ReadWriteOnce"),
			"resources", obj("requests", obj("storage", "1Gi")))))
	}},
	{"image", func() any { return obj("reference", "example.com/data:1.0") }},
	{"persistentVolumeClaim", func() any { return obj("claimName", "data") }},
	{"projected", func() any { return obj("sources", list()) }},
	{"secret", func() any { return obj("secretName", "creds") }},
	// Then the others.
	{"hostPath", func() any { return obj("path", "/var/log") }},
	{"gcePersistentDisk", func() any { return obj("pdName", "disk") }},
	{"awsElasticBlockStore", func() any { return obj("volumeID", "vol-1") }},
	{"gitRepo", func() any { return obj("repository", "https://example.com/repo.git") }},
	{"nfs", func() any { return obj("server", "nfs.example.com", "path", "/exports") }},
	{"iscsi", func() any {
		return obj("targetPortal", "10.0.0.1:3260", "iqn", "iqn.2001-04.com.example:storage", "lun", int64(0))
	}},
	{"glusterfs", func() any { return obj("endpoints", "glusterfs", "path", "vol") }},
	{"rbd", func() any { return obj("monitors", list("10.0.0.1:6789"), "image", "foo") }},
	{"flexVolume", func() any { return obj("driver", "example.com/lvm") }},
	{"cinder", func() any { return obj("volumeID", "vol-2") }},
	{"cephfs", func() any { return obj("monitors", list("10.0.0.1:6789")) }},
	{"flocker", func() any { return obj("datasetName", "ds") }},
	{"fc", func() any { return obj("targetWWNs", list("500a0982991b8dc5"), "lun", int64(2)) }},
	{"azureFile", func() any { return obj("secretName", "azure", "shareName", "share") }},
	{"vsphereVolume", func() any { return obj("volumePath", "[datastore1] volumes/myDisk") }},
	{"quobyte", func() any { return obj("registry", "registry:7861", "volume", "vol") }},
	{"azureDisk", func() any { return obj("diskName", "disk", "diskURI", "https://example.com/disk") }},
	{"photonPersistentDisk", func() any { return obj("pdID", "pd") }},
	{"portworxVolume", func() any { return obj("volumeID", "pxvol") }},
	{"scaleIO", func() any { return obj("gateway", "https://gw", "system", "sys", "secretRef", obj("name", "sio")) }},
	{"storageos", func() any { return obj("volumeName", "vol") }},
}

const allowedVolumeTypes = 9

func (g *podGen) volume(i int) map[string]any {
	v := obj("name", fmt.Sprintf("vol%d", i))
	switch {
	case g.hardened && g.chance(85):
		s := volumeSources[g.r.IntN(allowedVolumeTypes)]
		v[s.key] = s.src()
	case g.chance(4):
		// no source at all
	case g.chance(4):
		v["fancyNewVolume"] = obj("size", "1Gi") // a type the checks do not know
	default:
		s := volumeSources[g.r.IntN(len(volumeSources))]
		if g.chance(20) {
			s = volumeSources[allowedVolumeTypes] // hostPath, the one that matters most
		}
		v[s.key] = s.src()
		if g.chance(10) { // a second source: invalid, but the checks see both
			t := volumeSources[g.r.IntN(len(volumeSources))]
			v[t.key] = t.src()
		}
	}
	return v
}

// annotations draws pod-template annotations: AppArmor annotations for
// real, unknown and empty container names with allowed and forbidden
// values, legacy seccomp annotations (ignored at the latest version) and
// unrelated ones.
func (g *podGen) annotations(names []string) any {
	return g.pick(absent{}, func() any { return obj() }, func() any {
		m := obj("example.com/owner", "team-a")
		n := g.r.IntN(4)
		for range n {
			key := g.pick(
				func() any { return "container.apparmor.security.beta.kubernetes.io/" + names[g.r.IntN(len(names))] },
				"container.apparmor.security.beta.kubernetes.io/ghost",
				"container.apparmor.security.beta.kubernetes.io/",
				"container.apparmor.security.beta.kubernetes.io",
				"seccomp.security.alpha.kubernetes.io/pod",
				func() any { return "container.seccomp.security.alpha.kubernetes.io/" + names[g.r.IntN(len(names))] },
			).(string)
			m[key] = g.pick("runtime/default", "", "localhost/k8s-apparmor", "localhost/", "unconfined",
				"docker/default", "Runtime/Default", "localhost")
		}
		return m
	})
}

// pod returns the pod template metadata and spec of one random pod.
func (g *podGen) pod() (meta, spec map[string]any) {
	spec = map[string]any{}
	for _, f := range []string{"hostNetwork", "hostPID", "hostIPC"} {
		put(spec, f, g.pick(absent{}, false, true))
	}
	put(spec, "hostUsers", g.pick(absent{}, true, false))
	put(spec, "os", g.pick(absent{},
		func() any { return obj("name", "linux") },
		func() any { return obj("name", "windows") },
		func() any { return obj("name", "Windows") },
		func() any { return obj() },
	))
	// Windows by node selection, which Pod Security Admission ignores
	// (only spec.os.name counts), as must the PSS rules.
	put(spec, "nodeSelector", g.pick(absent{},
		func() any { return obj("kubernetes.io/os", "windows") },
		func() any { return obj("kubernetes.io/os", "linux") },
	))
	put(spec, "affinity", g.pick(absent{}, func() any {
		return obj("nodeAffinity", obj("requiredDuringSchedulingIgnoredDuringExecution", obj("nodeSelectorTerms", list(
			obj("matchExpressions", list(obj("key", "kubernetes.io/os", "operator", "In", "values", list("windows"))))))))
	}))
	put(spec, "securityContext", g.pick(func() any { return g.podSecurityContext() }, absent{}, func() any { return obj() }))
	put(spec, "volumes", g.pick(absent{}, func() any { return list() }, func() any {
		n := 1 + g.r.IntN(4)
		out := make([]any, n)
		for i := range out {
			out[i] = g.volume(i)
		}
		return out
	}))
	switch {
	case g.chance(2):
		// no containers key at all
	case g.chance(2):
		spec["containers"] = list()
	default:
		spec["containers"] = g.containers("app", 1, 3)
	}
	put(spec, "initContainers", g.pick(absent{}, func() any { return list() }, func() any { return g.containers("init", 1, 2) }))
	put(spec, "ephemeralContainers", g.pick(absent{}, func() any {
		out := g.containers("debug", 1, 1)
		put(out[0].(map[string]any), "targetContainerName", g.pick(absent{}, "app0"))
		return out
	}))
	var names []string
	for _, key := range []string{"containers", "initContainers", "ephemeralContainers"} {
		cs, _ := spec[key].([]any)
		for _, c := range cs {
			names = append(names, c.(map[string]any)["name"].(string))
		}
	}
	if len(names) == 0 {
		names = []string{"app0"}
	}
	meta = obj("labels", obj("app", "demo"), "annotations", g.annotations(names))
	return meta, spec
}

// workloadKinds are the kinds TestPSSDifferential wraps pods in, in rotation.
var workloadKinds = []struct{ apiVersion, kind string }{
	{"v1", "Pod"}, {"apps/v1", "Deployment"}, {"apps/v1", "StatefulSet"}, {"apps/v1", "DaemonSet"},
	{"apps/v1", "ReplicaSet"}, {"v1", "ReplicationController"}, {"batch/v1", "Job"}, {"batch/v1", "CronJob"},
	{"v1", "PodTemplate"},
}

// wrap puts a pod template into an object of the i-th workload kind named
// name. Workloads carry a forbidden AppArmor annotation on their own
// metadata, which the checks must ignore (only the pod template counts).
func wrap(i int, name string, meta, spec map[string]any) map[string]any {
	wk := workloadKinds[i%len(workloadKinds)]
	o := obj("apiVersion", wk.apiVersion, "kind", wk.kind)
	if wk.kind == "Pod" {
		m := obj("name", name, "namespace", "pss")
		for k, v := range meta {
			m[k] = v
		}
		o["metadata"] = m
		o["spec"] = spec
		return o
	}
	o["metadata"] = obj("name", name, "namespace", "pss",
		"annotations", obj("container.apparmor.security.beta.kubernetes.io/app0", "unconfined"))
	template := obj("metadata", meta, "spec", spec)
	if _, ok := meta["annotations"]; !ok && i%3 == 0 {
		delete(template, "metadata") // a template without metadata: no annotations at all
	}
	selector := obj("matchLabels", obj("app", "demo"))
	switch wk.kind {
	case "PodTemplate":
		o["template"] = template
	case "ReplicationController":
		o["spec"] = obj("selector", obj("app", "demo"), "template", template)
	case "Job":
		o["spec"] = obj("template", template)
	case "CronJob":
		o["spec"] = obj("schedule", "*/5 * * * *", "jobTemplate", obj("spec", obj("template", template)))
	case "StatefulSet":
		o["spec"] = obj("serviceName", name, "selector", selector, "template", template)
	default:
		o["spec"] = obj("selector", selector, "template", template)
	}
	return o
}
