package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/client-go/kubernetes"

	"github.com/kordon-dev/kordon/internal/finding"
	"github.com/kordon-dev/kordon/internal/image"
	"github.com/kordon-dev/kordon/internal/image/cluster"
	"github.com/kordon-dev/kordon/internal/image/findings"
	"github.com/kordon-dev/kordon/internal/image/inventory"
	"github.com/kordon-dev/kordon/internal/image/layers"
	"github.com/kordon-dev/kordon/internal/image/match"
	"github.com/kordon-dev/kordon/internal/image/osv"
	"github.com/kordon-dev/kordon/internal/image/secrets"
	"github.com/kordon-dev/kordon/internal/image/source"
	"github.com/kordon-dev/kordon/internal/image/vulnindex"
	"github.com/kordon-dev/kordon/internal/k8s"
	"github.com/kordon-dev/kordon/internal/pipeline"
	"github.com/kordon-dev/kordon/internal/rules"
)

type clusterFlags struct {
	cluster    bool
	kubeconfig string
	context    string
	namespace  string
	invCache   string
}

func (c *clusterFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.BoolVar(&c.cluster, "cluster", false, "scan the images of the running pods of the kubeconfig context")
	fl.StringVar(&c.kubeconfig, "kubeconfig", "", "with --cluster: kubeconfig file (default $KUBECONFIG or ~/.kube/config)")
	fl.StringVar(&c.context, "context", "", "with --cluster: kubeconfig context (default the current context)")
	fl.StringVarP(&c.namespace, "namespace", "n", "", "with --cluster: only this namespace (default all)")
	fl.StringVar(&c.invCache, "inventory-cache", "", "with --cluster: folder of cached image inventories (default $XDG_CACHE_HOME/kordon/inventory; \"off\" to disable)")
}

// clusterFinding is a finding of the JSON contract with the image and the
// workloads that run it.
type clusterFinding struct {
	findings.JSONFinding
	Image     string   `json:"image"`
	Workloads []string `json:"workloads"`
}

type clusterSecret struct {
	secrets.Find
	Image     string   `json:"image"`
	Workloads []string `json:"workloads"`
}

type clusterImage struct {
	cluster.Image
	Packages int  `json:"packages"`
	Cached   bool `json:"cached"`
}

func (f *imageScanFlags) runCluster(ctx context.Context, cmd *cobra.Command, cat *rules.Catalogue, db *osv.DB, in pipeline.Input) error {
	c := &f.cluster
	cc, err := k8s.LoadClientConfig(k8s.ClientOptions{Kubeconfig: c.kubeconfig, Context: c.context})
	if err != nil {
		return usageErr(fmt.Errorf("--cluster: %w", err))
	}
	client, err := kubernetes.NewForConfig(cc.REST)
	if err != nil {
		return usageErr(fmt.Errorf("--cluster: %w", err))
	}
	images, warnings, err := cluster.Running(ctx, client, c.namespace)
	if err != nil {
		return fmt.Errorf("--cluster: %w", err)
	}
	for _, w := range warnings {
		in.Warnings = append(in.Warnings, finding.Problem{Message: w})
	}
	cache := cluster.Cache{Dir: c.invCache}
	if cache.Dir == "" {
		if d, err := os.UserCacheDir(); err == nil {
			cache.Dir = filepath.Join(d, "kordon", "inventory")
		}
	} else if cache.Dir == "off" {
		cache.Dir = ""
	}
	vr, _ := cat.Lookup(findings.VulnRuleID)
	sr, _ := cat.Lookup(findings.SecretRuleID)
	inventory.QuietLibraryLogs()
	results := make([]*image.Result, len(images))
	dbNames := strings.Join(f.db, ", ")
	if dbNames == "" {
		dbNames = "kordon db update cache"
	}
	var out []clusterImage
	for i, im := range images {
		ci := clusterImage{Image: im}
		src, err := source.Open(ctx, im.Ref, source.Options{Insecure: f.insecure})
		if err != nil {
			in.Errors = append(in.Errors, finding.Problem{File: im.Ref, Message: err.Error()})
			out = append(out, ci)
			continue
		}
		res, cached, err := cluster.Scan(ctx, src.Image, cache, image.Options{DB: db, Secrets: !f.noSecrets, Limits: layers.Limits{MaxFileBytes: f.maxFileSize}})
		src.Close()
		if err != nil {
			if ctx.Err() != nil {
				return context.Cause(ctx)
			}
			in.Errors = append(in.Errors, finding.Problem{File: im.Ref, Message: err.Error()})
			out = append(out, ci)
			continue
		}
		results[i] = res
		ci.Packages, ci.Cached = len(res.Packages), cached
		out = append(out, ci)
		for _, e := range res.Errors {
			in.Errors = append(in.Errors, finding.Problem{File: im.Ref, Message: e.Error()})
		}
		if db != nil && cache.Dir != "" {
			// The admission webhook's governance.vulnerableImages reads it.
			if err := vulnindex.Put(cache.Dir, cluster.Record(im, res, dbNames, time.Now())); err != nil {
				in.Errors = append(in.Errors, finding.Problem{File: im.Ref, Message: err.Error()})
			}
		}
		// One finding per workload: exceptions and reports name workloads.
		vf := findings.ToFindings(res.Vulns, vr.Title, vr.Controls, findings.Options{IgnoreUnfixed: f.ignoreUnfixed})
		var sf []finding.Finding
		if !f.noSecrets {
			sf = findings.SecretFindings(res.Secrets, sr.Title, sr.Severity, sr.Controls)
		}
		for _, w := range im.Workloads {
			for _, x := range slices.Concat(vf, sf) {
				x.Message = fmt.Sprintf("image %s: %s", im.Ref, x.Message)
				x.Resource = finding.Resource{APIVersion: apiVersionOf(w.Kind), Kind: w.Kind, Namespace: w.Namespace, Name: w.Name}
				in.Findings = append(in.Findings, x)
			}
		}
		in.Resources += len(im.Workloads)
	}
	in.Checks = 2
	in.Tallies = []finding.RuleTally{{RuleID: vr.ID, Controls: vr.Controls, Evaluated: in.Resources}, {RuleID: sr.ID, Controls: sr.Controls, Evaluated: in.Resources}}
	for _, x := range in.Findings {
		if x.RuleID == vr.ID {
			in.Tallies[0].Failed++
		} else {
			in.Tallies[1].Failed++
		}
	}
	rep := pipeline.Build(in, f.report.options(cat))
	target := "cluster"
	if c.context != "" {
		target += " " + c.context
	}
	if c.namespace != "" {
		target += " namespace " + c.namespace
	}
	if f.report.output != "json" {
		return f.report.finish(cmd, cat, in, target)
	}
	return f.writeClusterJSON(cmd, images, results, out, rep)
}

func apiVersionOf(kind string) string {
	switch kind {
	case "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet":
		return "apps/v1"
	case "Job", "CronJob":
		return "batch/v1"
	}
	return "v1"
}

// writeClusterJSON writes {"images": [...], "findings": [...], "secrets":
// [...], "errors": [...]}: each finding and secret with its image and the
// workloads whose finding no exception suppressed.
func (f *imageScanFlags) writeClusterJSON(cmd *cobra.Command, images []cluster.Image, results []*image.Result, out []clusterImage, rep *finding.Report) error {
	active := map[string]bool{} // rule|image message prefix|workload
	for _, x := range rep.Findings {
		active[x.RuleID+"|"+x.Resource.String()+"|"+x.Message] = true
	}
	doc := struct {
		Images   []clusterImage   `json:"images"`
		Findings []clusterFinding `json:"findings"`
		Secrets  []clusterSecret  `json:"secrets"`
		Errors   []string         `json:"errors,omitempty"`
		Warnings []string         `json:"warnings,omitempty"`
	}{Images: out, Findings: []clusterFinding{}, Secrets: []clusterSecret{}}
	if doc.Images == nil {
		doc.Images = []clusterImage{}
	}
	vr := findings.VulnRuleID
	for i, im := range images {
		res := results[i]
		if res == nil {
			continue
		}
		for _, v := range res.Vulns {
			if f.ignoreUnfixed && v.FixedVersion == "" {
				continue
			}
			msg := findings.ToFindings([]match.Vuln{v}, "", nil, findings.Options{})[0].Message
			var ws []string
			for _, w := range im.Workloads {
				r := finding.Resource{APIVersion: apiVersionOf(w.Kind), Kind: w.Kind, Namespace: w.Namespace, Name: w.Name}
				if active[vr+"|"+r.String()+"|image "+im.Ref+": "+msg] {
					ws = append(ws, w.String())
				}
			}
			if len(ws) > 0 {
				doc.Findings = append(doc.Findings, clusterFinding{JSONFinding: findings.JSON([]match.Vuln{v})[0], Image: im.Ref, Workloads: ws})
			}
		}
		if !f.noSecrets {
			var ws []string
			for _, w := range im.Workloads {
				ws = append(ws, w.String())
			}
			for _, s := range res.Secrets {
				doc.Secrets = append(doc.Secrets, clusterSecret{Find: s, Image: im.Ref, Workloads: ws})
			}
		}
	}
	for _, p := range rep.Errors {
		doc.Errors = append(doc.Errors, p.File+": "+p.Message)
	}
	for _, p := range rep.Warnings {
		doc.Warnings = append(doc.Warnings, p.Message)
	}
	w := cmd.OutOrStdout()
	if f.report.outFile != "" {
		file, err := os.Create(f.report.outFile)
		if err != nil {
			return usageErr(fmt.Errorf("--output-file: %w", err))
		}
		defer file.Close()
		w = file
	}
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	enc.SetIndent("", "  ")
	err := enc.Encode(doc)
	if ferr := bw.Flush(); err == nil {
		err = ferr
	}
	if err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return verdictErr(f.report.gate.Judge(rep))
}
