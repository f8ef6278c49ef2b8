package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/kordon-dev/kordon/internal/store/query"
)

// Client calls a `kordon server`'s API. It is safe for concurrent use.
type Client struct {
	// BaseURL is the server's address, such as https://kordon.example:7443.
	BaseURL string
	Token   string
	HTTP    *http.Client
}

// maxResponse bounds a response body the client reads.
const maxResponse = 256 << 20

// Query runs a query on the server.
func (c *Client) Query(ctx context.Context, req QueryRequest) (*query.Result, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	var res query.Result
	if err := c.do(ctx, "/api/v1/query", "application/json", body, &res); err != nil {
		return nil, err
	}
	return &res, nil
}

// Send posts a batch to an ingest path (/api/v1/events or
// /api/v1/findings) and returns the server's answer; records the server
// rejected are in the result, not an error.
func (c *Client) Send(ctx context.Context, path string, body []byte) (*IngestResult, error) {
	var res IngestResult
	if err := c.do(ctx, path, "application/json", body, &res); err != nil {
		return nil, err
	}
	return &res, nil
}

func (c *Client) do(ctx context.Context, path, contentType string, body []byte, out any) error {
	url := strings.TrimSuffix(c.BaseURL, "/") + path
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", contentType)
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("%s: %w", url, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return fmt.Errorf("%s: %w", url, err)
	}
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusUnprocessableEntity {
		var e Error
		if json.Unmarshal(data, &e) == nil && e.Error != "" {
			return fmt.Errorf("%s: %s: %s", url, resp.Status, e.Error)
		}
		return fmt.Errorf("%s: %s", url, resp.Status)
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("%s: response: %w", url, err)
	}
	return nil
}
