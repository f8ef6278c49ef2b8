package alert

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// Webhook posts each alert as JSON (the Alert's fields) to a URL, with
// optional extra headers (an Authorization header, say).
type Webhook struct {
	URL     string
	Headers map[string]string
	Client  *http.Client
}

var _ Notifier = (*Webhook)(nil)

// Name returns "webhook".
func (w *Webhook) Name() string { return "webhook" }

// Notify posts the alert; any status but 2xx is an error.
func (w *Webhook) Notify(ctx context.Context, a Alert) error {
	return postJSON(ctx, w.Client, w.URL, w.Headers, a)
}

// postJSON posts v as JSON within 30 seconds; any status but 2xx is an
// error naming the URL.
func postJSON(ctx context.Context, client *http.Client, url string, headers map[string]string, v any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("%s: %s", url, resp.Status)
	}
	return nil
}
