package cli

import (
	"flag"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"parley/moderation"
)

// spamConfig is the anti-spam and privacy part of serve's configuration.
type spamConfig struct {
	maxLinks        int
	duplicateWindow time.Duration
	pow             bool
	powMaxNumber    int
	trustedProxies  string
	retention       time.Duration
	threshold       float64 // the classifier's; 0 for moderation.DefaultSpamThreshold
}

// spamFlags adds serve's anti-spam and privacy flags.
func spamFlags(fs *flag.FlagSet, c *spamConfig) {
	fs.IntVar(&c.maxLinks, "max-links", 2, "a comment with more links than this is filed as spam; -1 turns the check off")
	c.duplicateWindow, c.retention = 24*time.Hour, 30*24*time.Hour
	fs.Var(days{&c.duplicateWindow}, "duplicate-window", "the same comment sent again within this is refused (e.g. 24h, 2d); 0 turns the check off")
	fs.BoolVar(&c.pow, "pow", false, "ask the widget for a proof of work (a small hash puzzle) with each comment")
	fs.IntVar(&c.powMaxNumber, "pow-max-number", moderation.DefaultPoWMaxNumber, "proof of work difficulty: the largest number the widget may have to try")
	fs.StringVar(&c.trustedProxies, "trusted-proxies", "", "comma-separated proxy networks (CIDR) whose X-Forwarded-For is believed; default: none, the peer address is the client")
	fs.Float64Var(&c.threshold, "spam-threshold", moderation.DefaultSpamThreshold,
		"the classifier files a comment as spam when its score (0 to 1) is above this; 1 files nothing, scores are still shown")
	fs.Var(days{&c.retention}, "retention", "rejected and spam comments are deleted after this (e.g. 30d); 0 keeps them")
}

// resolve checks the anti-spam settings.
func (c *spamConfig) resolve() error {
	if c.duplicateWindow < 0 || c.retention < 0 {
		return fmt.Errorf("--duplicate-window and --retention must not be negative")
	}
	if !(c.threshold > 0 && c.threshold <= 1) {
		return fmt.Errorf("--spam-threshold must be above 0 and at most 1")
	}
	if c.pow && (c.powMaxNumber < 1 || c.powMaxNumber > 1<<31) {
		return fmt.Errorf("--pow-max-number must be between 1 and %d", 1<<31)
	}
	_, err := c.proxies()
	return err
}

// spamOptions is the pipeline the configuration asks for.
func (cfg *config) spamOptions() moderation.SpamOptions {
	o := moderation.DefaultSpamOptions()
	o.MinFill = time.Duration(cfg.minFillSeconds) * time.Second
	o.MaxLinks, o.DuplicateWindow = cfg.spam.maxLinks, cfg.spam.duplicateWindow
	if cfg.spam.pow {
		o.PoWMaxNumber = cfg.spam.powMaxNumber
	}
	return o
}

// proxies parses --trusted-proxies; a bare address is one host.
func (c *spamConfig) proxies() ([]*net.IPNet, error) {
	var out []*net.IPNet
	for _, s := range strings.Split(c.trustedProxies, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		p, err := netip.ParsePrefix(s)
		if err != nil {
			a, aerr := netip.ParseAddr(s)
			if aerr != nil {
				return nil, fmt.Errorf("--trusted-proxies: %q is not a network like 10.0.0.0/8 or an address", s)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		_, n, _ := net.ParseCIDR(p.Masked().String())
		out = append(out, n)
	}
	return out, nil
}

// days is a duration flag that also takes whole days, like "30d".
type days struct{ d *time.Duration }

func (v days) String() string {
	if v.d == nil {
		return ""
	}
	if *v.d%(24*time.Hour) == 0 && *v.d != 0 {
		return strconv.Itoa(int(*v.d/(24*time.Hour))) + "d"
	}
	return v.d.String()
}

func (v days) Set(s string) error {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		d, err := strconv.Atoi(n)
		if err != nil {
			return fmt.Errorf("%q is not a number of days like 30d", s)
		}
		*v.d = time.Duration(d) * 24 * time.Hour
		return nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("%q is not a duration like 30d or 12h", s)
	}
	*v.d = d
	return nil
}

// defaults are the instance's settings that every site inherits unless it
// sets its own: what the serve flags say.
func (c *config) defaults() *moderation.Settings {
	d := c.spamOptions().Defaults(moderation.DefaultSettings())
	d.TrustAfter = c.ops.trustAfter
	d.RetentionDays = int(c.spam.retention / (24 * time.Hour))
	return &d
}
