package alert

import (
	"context"
	"fmt"
	"net/http"
)

// Slack posts alerts to a Slack incoming webhook as a message with the
// alert's summary and a few fields (mrkdwn).
type Slack struct {
	URL    string
	Client *http.Client
}

var _ Notifier = (*Slack)(nil)

// Name returns "slack".
func (s *Slack) Name() string { return "slack" }

// SlackMessage is the payload of a Slack incoming webhook.
func SlackMessage(a Alert) map[string]any {
	e := a.Event
	text := fmt.Sprintf("*%s* [%s] %s", a.Rule, a.Severity, a.Summary())
	return map[string]any{
		"text": text,
		"blocks": []any{
			map[string]any{"type": "section", "text": map[string]string{"type": "mrkdwn", "text": text}},
			map[string]any{"type": "section", "fields": []any{
				map[string]string{"type": "mrkdwn", "text": "*Resource*\n" + e.Resource.String()},
				map[string]string{"type": "mrkdwn", "text": "*Check*\n" + dashIfEmpty(e.RuleID)},
				map[string]string{"type": "mrkdwn", "text": "*Engine*\n" + e.Engine + " " + e.Action},
				map[string]string{"type": "mrkdwn", "text": fmt.Sprintf("*Count*\n%d in %s", a.Count, a.Window)},
			}},
		},
	}
}

// Notify posts the alert.
func (s *Slack) Notify(ctx context.Context, a Alert) error {
	return postJSON(ctx, s.Client, s.URL, nil, SlackMessage(a))
}

// Teams posts alerts to a Microsoft Teams workflow (Power Automate "post
// to a channel when a webhook request is received") as an Adaptive Card.
type Teams struct {
	URL    string
	Client *http.Client
}

var _ Notifier = (*Teams)(nil)

// Name returns "teams".
func (t *Teams) Name() string { return "teams" }

// TeamsMessage is the payload of a Teams workflow webhook: a message with
// one Adaptive Card attachment.
func TeamsMessage(a Alert) map[string]any {
	e := a.Event
	facts := []any{
		map[string]string{"title": "Severity", "value": a.Severity.String()},
		map[string]string{"title": "Resource", "value": e.Resource.String()},
		map[string]string{"title": "Check", "value": dashIfEmpty(e.RuleID)},
		map[string]string{"title": "Count", "value": fmt.Sprintf("%d in %s", a.Count, a.Window)},
	}
	card := map[string]any{
		"$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
		"type":    "AdaptiveCard",
		"version": "1.4",
		"body": []any{
			map[string]any{"type": "TextBlock", "text": "Kordon alert: " + a.Rule, "weight": "Bolder", "size": "Medium", "wrap": true},
			map[string]any{"type": "TextBlock", "text": e.Message, "wrap": true},
			map[string]any{"type": "FactSet", "facts": facts},
		},
	}
	return map[string]any{
		"type":        "message",
		"attachments": []any{map[string]any{"contentType": "application/vnd.microsoft.card.adaptive", "content": card}},
	}
}

// Notify posts the alert.
func (t *Teams) Notify(ctx context.Context, a Alert) error {
	return postJSON(ctx, t.Client, t.URL, nil, TeamsMessage(a))
}

func dashIfEmpty(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
