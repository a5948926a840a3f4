package drift

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/fabplan/fabplan/engine"
)

// Webhook formats.
const (
	// FormatSlack is {"text": ...}: Slack incoming webhooks and Teams' (Microsoft 365 connector)
	// incoming webhooks both show the text.
	FormatSlack = "slack"
	// FormatTeams is a message carrying an Adaptive Card, the only format Teams Workflows ("post to
	// a channel when a webhook request is received") accept.
	FormatTeams = "teams"
	// FormatAuto picks teams for Workflows and connector hosts, slack for every other URL.
	FormatAuto = "auto"
)

// Webhook posts drift notifications. Every payload also carries a "fabplan" object with the same
// facts as data, for receivers that are neither Slack nor Teams.
type Webhook struct {
	URL    string
	Format string // FormatAuto when empty
	Client *http.Client
}

// Notification is what a webhook reports about one pair.
type Notification struct {
	Pair    string          `json:"pair"`
	Plan    string          `json:"plan"`
	Env     string          `json:"env,omitempty"`
	Event   string          `json:"event"` // "drift" or "resolved"
	Summary engine.Summary  `json:"summary"`
	Changes []ChangeSummary `json:"changes"`
	At      time.Time       `json:"at"`
	Held    []engine.Addr   `json:"held_back,omitempty"`
	Status  string          `json:"status_url,omitempty"`
}

// ChangeSummary is one changed address.
type ChangeSummary struct {
	Address engine.Addr   `json:"address"`
	Action  engine.Action `json:"action"`
}

// CheckWebhookURL refuses a URL that is not absolute http(s).
func CheckWebhookURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("--webhook-url: want an http(s) URL such as https://hooks.slack.com/services/..., got %q", s)
	}
	return nil
}

func (w *Webhook) format() string {
	switch w.Format {
	case FormatSlack, FormatTeams:
		return w.Format
	}
	u, err := url.Parse(w.URL)
	if err != nil {
		return FormatSlack
	}
	host := strings.ToLower(u.Hostname())
	for _, suffix := range []string{".webhook.office.com", ".logic.azure.com", ".powerplatform.com", ".powerautomate.com"} {
		if strings.HasSuffix(host, suffix) {
			return FormatTeams
		}
	}
	return FormatSlack
}

// Send posts n once; the caller logs a failure and carries on (the next drift notifies again).
func (w *Webhook) Send(ctx context.Context, n Notification) error {
	body, err := json.Marshal(w.payload(n))
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	hc := w.Client
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		// The URL carries the webhook's secret token: name the host only.
		return fmt.Errorf("webhook %s: %w", req.URL.Host, unwrapURLError(err))
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode >= 300 {
		return fmt.Errorf("webhook %s answered HTTP %d", req.URL.Host, resp.StatusCode)
	}
	return nil
}

func unwrapURLError(err error) error {
	if ue, ok := err.(*url.Error); ok {
		return ue.Err
	}
	return err
}

// maxListed bounds the addresses a message lists; the summary counts them all.
const maxListed = 20

// text is the message as Markdown lines (both Slack and Teams render them).
func (n Notification) text() (title string, lines []string) {
	s := n.Summary
	if n.Event == "resolved" {
		title = fmt.Sprintf("fabplan: %s is back in sync", n.Pair)
		return title, []string{fmt.Sprintf("Live state matches %s again.", n.Plan)}
	}
	title = fmt.Sprintf("fabplan: drift in %s", n.Pair)
	lines = append(lines, fmt.Sprintf("Plan: %d to add, %d to change, %d to replace, %d to destroy.", s.Add, s.Change, s.Replace, s.Destroy))
	for i, c := range n.Changes {
		if i == maxListed {
			lines = append(lines, fmt.Sprintf("... and %d more", len(n.Changes)-maxListed))
			break
		}
		lines = append(lines, fmt.Sprintf("%s %s (%s)", c.Action.Symbol(), c.Address, c.Action))
	}
	if len(n.Held) > 0 {
		lines = append(lines, fmt.Sprintf("%d change(s) held back by the reconcile policy: run fabplan plan %s to review them.", len(n.Held), n.Plan))
	}
	if n.Status != "" {
		lines = append(lines, "Status: "+n.Status)
	}
	return title, lines
}

func (w *Webhook) payload(n Notification) any {
	title, lines := n.text()
	if w.format() == FormatTeams {
		body := []map[string]any{{"type": "TextBlock", "text": title, "weight": "Bolder", "size": "Medium", "wrap": true}}
		for _, l := range lines {
			body = append(body, map[string]any{"type": "TextBlock", "text": l, "wrap": true, "fontType": "Monospace"})
		}
		return map[string]any{
			"type": "message",
			"attachments": []map[string]any{{
				"contentType": "application/vnd.microsoft.card.adaptive",
				"content": map[string]any{"$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
					"type": "AdaptiveCard", "version": "1.4", "body": body},
			}},
			"fabplan": n,
		}
	}
	var b strings.Builder
	b.WriteString("*" + title + "*")
	for _, l := range lines {
		b.WriteString("\n" + l)
	}
	return map[string]any{"text": b.String(), "fabplan": n}
}
