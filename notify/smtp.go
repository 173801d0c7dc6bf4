package notify

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"net/url"
	"strconv"
	"time"
)

// SMTP is how to reach the mail server.
type SMTP struct {
	Host     string
	Port     int    // default 587, or 465 with Security "tls"
	Security string // "starttls" (default: upgrade, and refuse a server that cannot), "tls" (implicit, port 465), or "none" (local relays only)
	User     string // with Password: AUTH PLAIN, only ever over TLS (or to localhost)
	Password string
	From     string      // the sender, e.g. "Comments <comments@example.com>"; default parley@ the public URL's host
	TLS      *tls.Config // optional: roots or a client certificate; ServerName is filled in
	Timeout  time.Duration
}

// The SMTP security modes.
const (
	SecurityStartTLS = "starttls"
	SecurityTLS      = "tls"
	SecurityNone     = "none"
)

// defaultSMTPTimeout bounds one whole conversation with the mail server.
const defaultSMTPTimeout = 30 * time.Second

type mailer struct {
	cfg  SMTP
	from *mail.Address
	helo string // the public URL's host: some servers refuse "localhost"
}

func newMailer(cfg SMTP, publicURL string) (*mailer, error) {
	switch cfg.Security {
	case "":
		cfg.Security = SecurityStartTLS
	case SecurityStartTLS, SecurityTLS, SecurityNone:
	default:
		return nil, fmt.Errorf("SMTP security %q: must be starttls, tls or none", cfg.Security)
	}
	if cfg.Port == 0 {
		cfg.Port = 587
		if cfg.Security == SecurityTLS {
			cfg.Port = 465
		}
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = defaultSMTPTimeout
	}
	if cfg.From == "" {
		u, err := url.Parse(publicURL)
		if err != nil || u.Hostname() == "" {
			return nil, errors.New("SMTP: give a sender address (--smtp-from)")
		}
		cfg.From = "Parley <parley@" + u.Hostname() + ">"
	}
	from, err := mail.ParseAddress(cfg.From)
	if err != nil {
		return nil, fmt.Errorf("SMTP sender %q: %v", cfg.From, err)
	}
	if (cfg.User == "") != (cfg.Password == "") {
		return nil, errors.New("SMTP: give both a user and a password, or neither")
	}
	if cfg.User != "" && cfg.Security == SecurityNone && !isLoopback(cfg.Host) {
		return nil, errors.New("SMTP: a password is never sent in the clear; use --smtp-tls starttls or tls")
	}
	helo := "localhost"
	if u, err := url.Parse(publicURL); err == nil && u.Hostname() != "" {
		helo = u.Hostname()
	}
	return &mailer{cfg: cfg, from: from, helo: helo}, nil
}

// send delivers one message in one conversation, bounded by the timeout.
// A 55x answer (no such mailbox, refused) is permanent; the rest is retried.
func (m *mailer) send(ctx context.Context, msg *message) error {
	from := *m.from
	if msg.SenderName != "" {
		from.Name = msg.SenderName
	}
	msg.From = &from
	data, err := msg.bytes()
	if err != nil {
		return permanent{err}
	}
	ctx, cancel := context.WithTimeout(ctx, m.cfg.Timeout)
	defer cancel()
	addr := net.JoinHostPort(m.cfg.Host, strconv.Itoa(m.cfg.Port))
	tlsConfig := &tls.Config{ServerName: m.cfg.Host, MinVersion: tls.VersionTLS12}
	if m.cfg.TLS != nil {
		tlsConfig = m.cfg.TLS.Clone()
		tlsConfig.ServerName = m.cfg.Host
	}
	var conn net.Conn
	if m.cfg.Security == SecurityTLS {
		conn, err = (&tls.Dialer{Config: tlsConfig}).DialContext(ctx, "tcp", addr)
	} else {
		conn, err = (&net.Dialer{}).DialContext(ctx, "tcp", addr)
	}
	if err != nil {
		return fmt.Errorf("connect to the mail server: %w", err)
	}
	deadline, _ := ctx.Deadline()
	_ = conn.SetDeadline(deadline)
	c, err := smtp.NewClient(conn, m.cfg.Host)
	if err != nil {
		_ = conn.Close()
		return fmt.Errorf("greet the mail server: %w", err)
	}
	defer c.Close()
	if err := c.Hello(m.helo); err != nil {
		return fmt.Errorf("greet the mail server: %w", err)
	}
	if m.cfg.Security == SecurityStartTLS {
		if ok, _ := c.Extension("STARTTLS"); !ok {
			return errors.New("the mail server does not offer STARTTLS; set --smtp-tls none to send in the clear")
		}
		if err := c.StartTLS(tlsConfig); err != nil {
			return fmt.Errorf("STARTTLS: %w", err)
		}
	}
	if m.cfg.User != "" {
		if err := c.Auth(smtp.PlainAuth("", m.cfg.User, m.cfg.Password, m.cfg.Host)); err != nil {
			return fmt.Errorf("sign in to the mail server: %w", err)
		}
	}
	if err := c.Mail(m.from.Address); err != nil {
		return smtpError("MAIL FROM", err)
	}
	if err := c.Rcpt(msg.To); err != nil {
		return smtpError("RCPT TO", err)
	}
	w, err := c.Data()
	if err != nil {
		return smtpError("DATA", err)
	}
	if _, err := w.Write(data); err != nil {
		return fmt.Errorf("send the message: %w", err)
	}
	if err := w.Close(); err != nil {
		return smtpError("end of DATA", err)
	}
	return c.Quit()
}

func smtpError(stage string, err error) error {
	err = fmt.Errorf("%s: %w", stage, err)
	var te *textproto.Error
	if errors.As(err, &te) && te.Code >= 550 && te.Code <= 554 {
		return permanent{err}
	}
	return err
}

func isLoopback(host string) bool {
	ip := net.ParseIP(host)
	return host == "localhost" || (ip != nil && ip.IsLoopback())
}
