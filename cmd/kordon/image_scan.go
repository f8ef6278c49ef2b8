package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/kordon-dev/kordon/internal/finding"
	"github.com/kordon-dev/kordon/internal/image"
	"github.com/kordon-dev/kordon/internal/image/cluster"
	"github.com/kordon-dev/kordon/internal/image/dbcache"
	"github.com/kordon-dev/kordon/internal/image/findings"
	"github.com/kordon-dev/kordon/internal/image/inventory"
	"github.com/kordon-dev/kordon/internal/image/layers"
	"github.com/kordon-dev/kordon/internal/image/match"
	"github.com/kordon-dev/kordon/internal/image/osv"
	"github.com/kordon-dev/kordon/internal/image/sbom"
	"github.com/kordon-dev/kordon/internal/image/secrets"
	"github.com/kordon-dev/kordon/internal/image/source"
	"github.com/kordon-dev/kordon/internal/image/vulnindex"
	"github.com/kordon-dev/kordon/internal/pipeline"
	"github.com/kordon-dev/kordon/internal/rules"
	"github.com/kordon-dev/kordon/internal/version"
)

type imageScanFlags struct {
	report        reportFlags
	db            []string
	insecure      bool
	offline       bool
	ignoreUnfixed bool
	listPackages  bool
	maxFileSize   int64
	sbomIn        string
	noSecrets     bool
	record        string
	cluster       clusterFlags
	cache         dbFlags
}

func newImageScanCmd() *cobra.Command {
	f := &imageScanFlags{}
	cmd := &cobra.Command{
		Use:   "scan SOURCE | --sbom FILE",
		Short: "List an image's packages and report their known vulnerabilities (OSV, offline)",
		Long: `Scan a container image: flatten its layers into the filesystem a container
sees (whiteouts and opaque directories applied), list the installed packages
with osv-scalibr, and match them against OSV records read from --db.

SOURCE:
  REFERENCE             an image in a registry (ghcr.io/org/app:1.2, nginx@sha256:...),
                        pulled with your docker credentials (~/.docker/config.json
                        and credential helpers); --insecure-registry for plain HTTP
  docker-archive:FILE   a tar written by docker save
  oci-archive:FILE      a tar of an OCI image layout
  oci:DIR               an OCI image layout folder
  PATH                  a tar file (either kind) or a layout folder

Vulnerability data never comes from the network: --db names folders of OSV
JSON records (any depth) or osv.dev zip files (ECOSYSTEM/all.zip), e.g. the
Go vulnerability database's data/osv. Without --db, the cache that kordon db
update fills is read (its age is printed on standard error); without either,
the packages are listed and no vulnerability is reported.

Output: -o table (default), json (the contract of docs/image.md), sarif, junit
and the other report formats of kordon scan; -o cyclonedx (CycloneDX 1.6 JSON)
and -o spdx (SPDX 2.3 JSON) write the image's SBOM instead, a purl per
package (their exit code is 0, or 2 when parts of the image could not be
read). --sbom FILE matches the packages of an existing SBOM instead of an
image.

--record DIR records what the scan found under the image's digests in
DIR/images, for the admission webhook's governance.vulnerableImages policy
(docs/image.md): run it in CI before deploying, with a registry reference, so
that new images are judged at admission rather than reported as not scanned.

--cluster scans the images of the running pods of the kubeconfig context
(all namespaces, or -n): each distinct image digest (from the pods' status)
is pulled and inventoried once, inventories are cached by layers
(--inventory-cache) so that a database update re-matches without
downloading, and findings name the workloads that run each vulnerable image.
With a database, what each image's scan found is also recorded under its
digests in --inventory-cache/images, where the admission webhook's
governance.vulnerableImages policy reads it (docs/image.md).

Exit codes: 0 no finding at or above --fail-on; 1 otherwise; 2 usage errors
or parts of the image that could not be read (each named with its layer and
path in the report; the rest of the image is still scanned).`,
		Example: `  kordon image scan ghcr.io/org/app:1.2 --db ~/osv --fail-on high
  kordon image scan docker-archive:app.tar --db osv/Debian/all.zip --db vulndb/data/osv -o json
  kordon image scan localhost:5000/app:dev --insecure-registry --db ~/osv --ignore-unfixed -o sarif
  kordon image scan oci:./layout --packages -o json
  kordon image scan docker-archive:app.tar -o cyclonedx --output-file app.cdx.json
  kordon image scan --sbom app.cdx.json --db ~/osv --fail-on critical
  kordon image scan --cluster --context prod -n payments --fail-on high
  kordon image scan ghcr.io/org/app:1.2 --db ~/osv --record /var/cache/kordon/inventory`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return runImageScan(cmd, f, args) },
	}
	f.report.register(cmd, "low")
	fl := cmd.Flags()
	fl.StringArrayVar(&f.db, "db", nil, "OSV records: a folder (any depth) or a zip file (repeatable); default the cache of kordon db update")
	f.cache.register(cmd)
	fl.BoolVar(&f.insecure, "insecure-registry", false, "use plain HTTP for the reference's registry")
	fl.BoolVar(&f.offline, "offline", false, "never use the network for vulnerability data (image scan never does; pulling SOURCE is still allowed)")
	fl.BoolVar(&f.ignoreUnfixed, "ignore-unfixed", false, "leave out vulnerabilities without a known fixed version")
	fl.BoolVar(&f.listPackages, "packages", false, "with -o json, also list every package found (name, version, ecosystem, purl, path, layer)")
	f.cluster.register(cmd)
	fl.BoolVar(&f.noSecrets, "no-secrets", false, "do not look for hard-coded secrets (KOR-IMG-SECRET)")
	fl.StringVar(&f.sbomIn, "sbom", "", "scan the packages of an existing SBOM (CycloneDX or SPDX 2 JSON) instead of an image")
	fl.Int64Var(&f.maxFileSize, "max-file-size", 512<<20, "largest file read from a layer, in bytes (larger ones are reported and skipped)")
	fl.StringVar(&f.record, "record", "", "record what the scan found, by image digest, in DIR/images for the admission webhook (governance.vulnerableImages); --cluster records in --inventory-cache")
	_ = cmd.MarkFlagFilename("db", "zip", "json")
	return cmd
}

func runImageScan(cmd *cobra.Command, f *imageScanFlags, args []string) error {
	spec := ""
	switch {
	case f.sbomIn != "" && len(args) > 0:
		return usageErr(fmt.Errorf("give SOURCE or --sbom, not both"))
	case f.cluster.cluster && (len(args) > 0 || f.sbomIn != ""):
		return usageErr(fmt.Errorf("--cluster scans the images of running pods: give no SOURCE and no --sbom"))
	case f.cluster.cluster:
	case f.cluster.kubeconfig != "" || f.cluster.context != "" || f.cluster.namespace != "":
		return usageErr(fmt.Errorf("--kubeconfig, --context and --namespace go with --cluster"))
	case f.sbomIn == "" && len(args) != 1:
		return usageErr(fmt.Errorf("want one SOURCE (an image reference, archive or layout), or --sbom FILE"))
	case len(args) == 1:
		spec = args[0]
	}
	sbomOut := ""
	if o := f.report.output; o == "cyclonedx" || o == "spdx" {
		if f.sbomIn != "" || f.cluster.cluster {
			return usageErr(fmt.Errorf("-o %s writes the SBOM of one image", o))
		}
		sbomOut, f.report.output = o, "json"
	}
	if err := f.report.prepare(nil); err != nil {
		return err
	}
	if f.listPackages && f.report.output != "json" {
		return usageErr(fmt.Errorf("--packages needs -o json"))
	}
	if f.record != "" && (f.sbomIn != "" || f.cluster.cluster || sbomOut != "") {
		return usageErr(fmt.Errorf("--record records the scan of one image SOURCE (--cluster records in --inventory-cache)"))
	}
	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cat, err := rules.BuiltinCatalogue()
	if err != nil {
		return err
	}
	rule, ok := cat.Lookup(findings.VulnRuleID)
	if !ok {
		return fmt.Errorf("catalogue lacks %s", findings.VulnRuleID)
	}
	var in pipeline.Input
	db, problems, err := f.loadDB(cmd)
	if err != nil {
		return err
	}
	in.Errors = append(in.Errors, problems...)
	if f.record != "" && db == nil {
		return usageErr(fmt.Errorf("--record needs vulnerability data: --db, or the cache of kordon db update"))
	}
	if f.cluster.cluster {
		return f.runCluster(ctx, cmd, cat, db, in)
	}
	var res *image.Result
	if f.sbomIn != "" {
		spec = f.sbomIn
		if res, err = readSBOM(f.sbomIn, db); err != nil {
			return usageErr(err)
		}
	} else {
		inventory.QuietLibraryLogs()
		src, err := source.Open(ctx, spec, source.Options{Insecure: f.insecure})
		if err != nil {
			return usageErr(err)
		}
		defer src.Close()
		res, err = image.Scan(ctx, src.Image, image.Options{DB: db, Limits: layers.Limits{MaxFileBytes: f.maxFileSize}, Secrets: !f.noSecrets && sbomOut == ""})
		if err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("scan %s: %w", spec, context.Cause(ctx))
			}
			return fmt.Errorf("scan %s: %w", spec, err)
		}
		if f.record != "" {
			if err := recordScan(f.record, spec, src, res, f.db); err != nil {
				in.Errors = append(in.Errors, finding.Problem{File: spec, Message: err.Error()})
			}
		}
	}
	if sbomOut != "" {
		return f.writeSBOM(cmd, sbomOut, spec, res)
	}
	for _, e := range res.Errors {
		in.Errors = append(in.Errors, finding.Problem{File: spec, Message: e.Error()})
	}
	for _, w := range res.Warnings {
		in.Warnings = append(in.Warnings, finding.Problem{File: spec, Message: w.Error()})
	}
	in.Findings = findings.ToFindings(res.Vulns, rule.Title, rule.Controls, findings.Options{Image: spec, IgnoreUnfixed: f.ignoreUnfixed})
	in.Tallies = []finding.RuleTally{{RuleID: rule.ID, Controls: rule.Controls, Evaluated: len(res.Packages), Failed: len(in.Findings)}}
	in.Resources, in.Checks = len(res.Packages), 1
	if f.sbomIn == "" && !f.noSecrets {
		srule, ok := cat.Lookup(findings.SecretRuleID)
		if !ok {
			return fmt.Errorf("catalogue lacks %s", findings.SecretRuleID)
		}
		sf := findings.SecretFindings(res.Secrets, srule.Title, srule.Severity, srule.Controls)
		in.Findings = append(in.Findings, sf...)
		in.Tallies = append(in.Tallies, finding.RuleTally{RuleID: srule.ID, Controls: srule.Controls, Evaluated: 1, Failed: len(sf)})
		in.Checks++
	}
	rep := pipeline.Build(in, f.report.options(cat))
	if f.report.output == "json" {
		return f.writeJSON(cmd, spec, res, rep)
	}
	target := spec
	if res.Digest != "" {
		target += " (" + res.Digest + ")"
	}
	return f.report.finish(cmd, cat, in, target)
}

// recordScan writes what the scan of src found to dir for the admission
// webhook, under the digest the registry gives for the reference (an
// index's for a multi-platform image) and the scanned manifest's.
func recordScan(dir, spec string, src *source.Image, res *image.Result, db []string) error {
	im := cluster.Image{Ref: spec, Digest: res.Digest}
	if src.RefDigest.Hex != "" {
		im.Digest = src.RefDigest.String()
	}
	names := strings.Join(db, ", ")
	if names == "" {
		names = "kordon db update cache"
	}
	if err := vulnindex.Put(dir, cluster.Record(im, res, names, time.Now())); err != nil {
		return fmt.Errorf("--record: %w", err)
	}
	return nil
}

// loadDB reads --db, or the cache of kordon db update when there is one
// (its age on standard error); nil when neither.
func (f *imageScanFlags) loadDB(cmd *cobra.Command) (*osv.DB, []finding.Problem, error) {
	paths := f.db
	if len(paths) == 0 {
		if dir, err := f.cache.dir(); err == nil {
			if entries, err := dbcache.Status(dir); err == nil && len(entries) > 0 {
				paths = []string{dir}
				var ages []string
				for _, e := range entries {
					ages = append(ages, e.Ecosystem+" "+age(time.Since(e.Modified)))
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "vulnerability data: %s (%s)\n", dir, strings.Join(ages, ", "))
			}
		}
	}
	if len(paths) == 0 {
		return nil, nil, nil
	}
	db, err := osv.Load(paths...)
	if err != nil {
		return nil, nil, usageErr(fmt.Errorf("--db: %w", err))
	}
	var problems []finding.Problem
	for _, e := range db.Errors {
		problems = append(problems, finding.Problem{Message: "vulnerability database: " + e.Error()})
	}
	return db, problems, nil
}

// readSBOM reads the packages of an SBOM and matches them.
func readSBOM(file string, db *osv.DB) (*image.Result, error) {
	fh, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("--sbom: %w", err)
	}
	defer fh.Close()
	pkgs, errs, err := sbom.Read(fh)
	if err != nil {
		return nil, fmt.Errorf("--sbom %s: %w", file, err)
	}
	res := &image.Result{Packages: pkgs}
	for _, e := range errs {
		res.Errors = append(res.Errors, fmt.Errorf("%s: %w", file, e))
	}
	if db != nil {
		vulns, errs := match.Match(db, pkgs)
		res.Vulns = vulns
		res.Errors = append(res.Errors, errs...)
	}
	return res, nil
}

// writeSBOM writes the inventory as CycloneDX or SPDX; it exits 2 when
// parts of the image could not be read (listed on standard error).
func (f *imageScanFlags) writeSBOM(cmd *cobra.Command, format, spec string, res *image.Result) error {
	out := cmd.OutOrStdout()
	if f.report.outFile != "" {
		file, err := os.Create(f.report.outFile)
		if err != nil {
			return usageErr(fmt.Errorf("--output-file: %w", err))
		}
		defer file.Close()
		out = file
	}
	bw := bufio.NewWriter(out)
	subj := sbom.Subject{Name: spec, Digest: res.Digest, Tool: "kordon", ToolVersion: version.Version, Now: time.Now()}
	var err error
	if format == "cyclonedx" {
		err = sbom.CycloneDX(bw, subj, res.Packages)
	} else {
		err = sbom.SPDX(bw, subj, res.Packages)
	}
	if ferr := bw.Flush(); err == nil {
		err = ferr
	}
	if err != nil {
		return err
	}
	if len(res.Errors) > 0 {
		for _, e := range res.Errors {
			fmt.Fprintln(cmd.ErrOrStderr(), "error:", e)
		}
		return &exitError{code: exitUsage, err: fmt.Errorf("%d parts of the image could not be read", len(res.Errors))}
	}
	return nil
}

// writeJSON writes the image scan's JSON contract (docs/image.md).
func (f *imageScanFlags) writeJSON(cmd *cobra.Command, spec string, res *image.Result, rep *finding.Report) error {
	doc := &findings.Document{Image: spec, Digest: res.Digest}
	doc.Findings = findings.JSON(findings.Keep(res.Vulns, rep.Findings))
	if f.sbomIn == "" && !f.noSecrets {
		doc.Secrets = findings.KeepSecrets(res.Secrets, rep.Findings)
	}
	doc.Suppressed = findings.JSON(findings.Keep(res.Vulns, rep.Suppressed))
	if len(doc.Suppressed) == 0 {
		doc.Suppressed = nil
	}
	for _, p := range rep.Errors {
		doc.Errors = append(doc.Errors, p.Message)
	}
	type withPackages struct {
		*findings.Document
		Packages []inventory.Package `json:"packages"`
	}
	out := cmd.OutOrStdout()
	if f.report.outFile != "" {
		file, err := os.Create(f.report.outFile)
		if err != nil {
			return usageErr(fmt.Errorf("--output-file: %w", err))
		}
		defer file.Close()
		out = file
	}
	bw := bufio.NewWriter(out)
	var err error
	if f.listPackages {
		pkgs := slices.Clone(res.Packages)
		if pkgs == nil {
			pkgs = []inventory.Package{}
		}
		if doc.Findings == nil {
			doc.Findings = []findings.JSONFinding{}
		}
		if doc.Secrets == nil {
			doc.Secrets = []secrets.Find{}
		}
		enc := json.NewEncoder(bw)
		enc.SetIndent("", "  ")
		err = enc.Encode(withPackages{doc, pkgs})
	} else {
		err = findings.Write(bw, doc)
	}
	if ferr := bw.Flush(); err == nil {
		err = ferr
	}
	if err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return verdictErr(f.report.gate.Judge(rep))
}
