package cli

import (
	"flag"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"

	"parley/server"
)

// config is everything the commands read from flags and the environment.
type config struct {
	data           string
	addr           string
	publicURL      string
	origins        string
	rateLimit      int
	minFillSeconds int
	logFormat      string
	spam           spamConfig

	ops          opsConfig // notifications, trust and metrics (config_notify.go)
	cacheSize    int       // MiB
	accessLog    string    // on or off
	benchCeiling bool
}

// newFlagSet defines the flags every command shares; commands add their own.
func newFlagSet(name string, cfg *config) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.StringVar(&cfg.data, "data", "./parley.db", "the database: a bbolt file, or a postgres:// URL for several processes")
	fs.StringVar(&cfg.logFormat, "log-format", "text", "log format: text or json")
	return fs
}

// serveFlags adds the flags of the serve command.
func serveFlags(fs *flag.FlagSet, cfg *config) {
	fs.StringVar(&cfg.addr, "addr", "127.0.0.1:8080", "where serve listens")
	fs.StringVar(&cfg.publicURL, "public-url", "", "the URL blogs load embed.js from (default http://<addr>)")
	fs.StringVar(&cfg.origins, "origins", "", "comma-separated blog origins allowed to embed and post (default: the public URL's origin)")
	fs.IntVar(&cfg.rateLimit, "rate-limit", 10, "submissions per minute per client; 0 turns the limit off")
	fs.IntVar(&cfg.minFillSeconds, "min-fill-seconds", 3, "least seconds between a form token and its submission; 0 turns the check off")
	spamFlags(fs, &cfg.spam)
	opsFlags(fs, &cfg.ops)
	fs.IntVar(&cfg.cacheSize, "cache-size", server.DefaultCacheSize>>20, "megabytes of encoded comment threads and counts kept in memory; 0 turns the read cache off")
	fs.StringVar(&cfg.accessLog, "access-log", "on", "on: log one line per request; off: only errors and events (for a proxy that keeps its own access log)")
	fs.BoolVar(&cfg.benchCeiling, "bench-ceiling", false, "benchmarking aid: serve /api/bench/ceiling, a thread's bytes from memory without the cache (leave off in production)")
}

// parse reads flags, with PARLEY_* environment variables as defaults: a flag
// given on the command line wins over its environment twin.
func parse(fs *flag.FlagSet, args []string) error {
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		name := "PARLEY_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v, ok := os.LookupEnv(name); ok && err == nil {
			if e := f.Value.Set(v); e != nil {
				err = fmt.Errorf("%s=%q: %v", name, v, e)
			}
		}
	})
	if err != nil {
		return err
	}
	return fs.Parse(args)
}

// resolve fills defaults that depend on other settings and checks them.
func (cfg *config) resolve() error {
	if _, _, err := net.SplitHostPort(cfg.addr); err != nil {
		return fmt.Errorf("--addr %q: %v", cfg.addr, err)
	}
	if cfg.publicURL == "" {
		cfg.publicURL = "http://" + cfg.addr
	}
	u, err := url.Parse(cfg.publicURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("--public-url %q must be an absolute http(s) URL", cfg.publicURL)
	}
	cfg.publicURL = strings.TrimRight(cfg.publicURL, "/")
	if cfg.rateLimit < 0 || cfg.minFillSeconds < 0 || cfg.cacheSize < 0 {
		return fmt.Errorf("--rate-limit, --min-fill-seconds and --cache-size must not be negative")
	}
	if cfg.accessLog != "on" && cfg.accessLog != "off" {
		return fmt.Errorf("--access-log %q must be on or off", cfg.accessLog)
	}
	return cfg.spam.resolve()
}

// cacheBytes is --cache-size as server.Config.CacheSize wants it.
func (cfg *config) cacheBytes() int64 {
	if cfg.cacheSize == 0 {
		return -1 // off
	}
	return int64(cfg.cacheSize) << 20
}

// originList splits --origins, checking each is a bare scheme://host[:port].
func (cfg *config) originList() ([]string, error) {
	var out []string
	for _, o := range strings.Split(cfg.origins, ",") {
		o = strings.TrimRight(strings.TrimSpace(o), "/")
		if o == "" {
			continue
		}
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Path != "" {
			return nil, fmt.Errorf("--origins: %q is not an origin like https://blog.example.com", o)
		}
		out = append(out, o)
	}
	return out, nil
}
