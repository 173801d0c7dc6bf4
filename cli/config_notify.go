package cli

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"parley/moderation"
	"parley/notify"
)

// opsConfig is the serve settings for notifications, trust and metrics.
type opsConfig struct {
	smtp            notify.SMTP
	digestMinutes   int
	webhookURLs     string
	webhookSecret   string
	webhookTemplate string
	trustAfter      int
	metricsToken    string
}

// opsFlags adds the flags of notifications, trust and metrics to serve.
func opsFlags(fs *flag.FlagSet, c *opsConfig) {
	fs.StringVar(&c.smtp.Host, "smtp-host", "", "mail server for notifications; empty sends no email")
	fs.IntVar(&c.smtp.Port, "smtp-port", 0, "mail server port (default 587, or 465 with --smtp-tls tls)")
	fs.StringVar(&c.smtp.Security, "smtp-tls", notify.SecurityStartTLS, "starttls, tls (implicit, port 465) or none (a local relay only)")
	fs.StringVar(&c.smtp.User, "smtp-user", "", "mail server user name (AUTH PLAIN, over TLS only)")
	fs.StringVar(&c.smtp.Password, "smtp-password", "", "mail server password (prefer PARLEY_SMTP_PASSWORD: flags show in ps)")
	fs.StringVar(&c.smtp.From, "smtp-from", "", `sender, e.g. "Comments <comments@example.com>" (default parley@ the public URL's host)`)
	fs.IntVar(&c.digestMinutes, "digest-minutes", 60, "how often moderators who chose a digest get it")
	fs.StringVar(&c.webhookURLs, "webhook-urls", "", "comma-separated URLs that get a JSON POST for each comment awaiting moderation")
	fs.StringVar(&c.webhookSecret, "webhook-secret", "", "key of the X-Parley-Signature-256 HMAC of each webhook body")
	fs.StringVar(&c.webhookTemplate, "webhook-template", "", "file with a Go text/template for the webhook body (see docs/operations.md)")
	fs.IntVar(&c.trustAfter, "trust-after", 0, "publish at once comments from a verified email with this many approved comments; 0 is off")
	fs.StringVar(&c.metricsToken, "metrics-token", "", "bearer token that /metrics asks for; empty turns /metrics off")
}

// notifyConfig checks the settings and turns them into notify's Config.
func (c *opsConfig) notifyConfig(publicURL string, origins []string) (notify.Config, error) {
	cfg := notify.Config{PublicURL: publicURL, SMTP: c.smtp, WebhookSecret: c.webhookSecret,
		DigestEvery: time.Duration(c.digestMinutes) * time.Minute}
	cfg.SiteOrigins = moderation.SiteOrigins(origins, publicURL)
	if c.digestMinutes < 1 || c.trustAfter < 0 {
		return cfg, fmt.Errorf("--digest-minutes must be at least 1 and --trust-after not negative")
	}
	for _, u := range strings.Split(c.webhookURLs, ",") {
		if u = strings.TrimSpace(u); u != "" {
			cfg.Webhooks = append(cfg.Webhooks, u)
		}
	}
	if len(cfg.Webhooks) > 0 && c.webhookSecret == "" {
		return cfg, fmt.Errorf("--webhook-urls needs --webhook-secret, so receivers can check who sent a call")
	}
	if c.webhookTemplate != "" {
		text, err := os.ReadFile(c.webhookTemplate)
		if err != nil {
			return cfg, fmt.Errorf("--webhook-template: %w", err)
		}
		if cfg.WebhookTemplate, err = notify.ParseTemplate(c.webhookTemplate, string(text)); err != nil {
			return cfg, fmt.Errorf("--webhook-template: %w", err)
		}
	}
	return cfg, nil
}

// startNotify starts the notification worker with serve's settings.
func startNotify(ctx context.Context, cfg *config, origins []string, svc *moderation.Service, store notify.Store,
	log *slog.Logger, rec notify.Recorder) (*notify.Notifier, error) {
	ncfg, err := cfg.ops.notifyConfig(cfg.publicURL, origins)
	if err != nil {
		return nil, usageError{err}
	}
	n, err := notify.Start(ctx, ncfg, svc, store, log, rec)
	if err != nil {
		return nil, usageError{err} // Start fails only on settings
	}
	return n, nil
}
