package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/spf13/pflag"

	"github.com/kordon-dev/kordon/internal/flowlog"
	"github.com/kordon-dev/kordon/internal/hubble"
	"github.com/kordon-dev/kordon/internal/store"
)

// flowSourceFlags are kordon server's live flow sources: Hubble's
// observer API.
type flowSourceFlags struct {
	hubble           string
	hubbleCA         string
	hubbleCert       string
	hubbleKey        string
	hubbleServerName string
	hubblePlaintext  bool
}

func addFlowSourceFlags(fl *pflag.FlagSet, f *flowSourceFlags) {
	fl.StringVar(&f.hubble, "hubble", "", "follow the flows of Hubble's observer gRPC API at this address (Hubble Relay: hubble-relay.kube-system.svc:443; an agent: unix:///var/run/cilium/hubble.sock)")
	fl.StringVar(&f.hubbleCA, "hubble-ca-file", "", "CA certificates (PEM) that sign Hubble's certificate (default: the system's)")
	fl.StringVar(&f.hubbleCert, "hubble-cert-file", "", "client certificate (PEM) for Hubble Relay's mutual TLS")
	fl.StringVar(&f.hubbleKey, "hubble-key-file", "", "client key (PEM) for --hubble-cert-file")
	fl.StringVar(&f.hubbleServerName, "hubble-server-name", "", "name to check in Hubble's certificate, such as *.hubble-relay.cilium.io (default: the address's host)")
	fl.BoolVar(&f.hubblePlaintext, "hubble-plaintext", false, "reach Hubble without TLS (a local socket, or Relay with TLS off)")
}

// startFlowSources starts the live flow sources that were asked for;
// they store through ingest (enrichment and alerts included) until ctx
// ends. The returned function waits for them to finish.
func startFlowSources(ctx context.Context, f *flowSourceFlags, norm *flowlog.Normalizer, ingest func(context.Context, []store.Record) error, log *slog.Logger) (wait func(), err error) {
	if f.hubble == "" {
		if f.hubbleCA != "" || f.hubbleCert != "" || f.hubbleKey != "" || f.hubbleServerName != "" || f.hubblePlaintext {
			return nil, usageErr(errors.New("--hubble-* options without --hubble ADDR"))
		}
		return func() {}, nil
	}
	creds, err := hubble.TLSOptions{Plaintext: f.hubblePlaintext, CAFile: f.hubbleCA, CertFile: f.hubbleCert, KeyFile: f.hubbleKey,
		ServerName: f.hubbleServerName}.Credentials()
	if err != nil {
		return nil, usageErr(fmt.Errorf("--hubble: %w", err))
	}
	fol, err := hubble.New(hubble.Options{Addr: f.hubble, Credentials: creds, Normalizer: norm, Append: ingest, Log: log})
	if err != nil {
		return nil, usageErr(fmt.Errorf("--hubble: %w", err))
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		log.Info("following Hubble", "server", f.hubble)
		if err := fol.Run(ctx); err != nil {
			log.Error("hubble: stopped", "err", err)
		}
		log.Info("hubble: stopped", "stats", fol.Stats())
	}()
	return func() { <-done }, nil
}
