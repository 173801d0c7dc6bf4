// Package metrics counts what operators watch, in Prometheus's format:
// submissions by outcome, moderation actions by kind, HTTP latency by route,
// notifications by outcome, the outbox's depth and the database's size and
// transactions. It wraps client_golang; it imports moderation, and storage
// only for the shape of its statistics.
package metrics

import (
	"context"
	"maps"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"parley/moderation"
)

// Source is what the metrics read from the database at each scrape.
type Source interface {
	Stats() moderation.StoreStats
	OutboxDepth(ctx context.Context) (map[string]int, error)
}

// Metrics is Parley's registry and the instruments the server and the
// notifier report to. Build one with New and share it.
type Metrics struct {
	reg           *prometheus.Registry
	requests      *prometheus.HistogramVec
	submissions   *prometheus.CounterVec
	moderations   *prometheus.CounterVec
	notifications *prometheus.CounterVec
	sites         siteLabels

	// observers holds the latency histogram of each (method, route, code)
	// seen so far: a request then costs one map read, where
	// WithLabelValues would format the code and hash three labels. The map
	// is replaced, never changed, when a new combination appears (rarely:
	// there are a few dozen), so reads take no lock.
	observers atomic.Pointer[map[requestLabels]prometheus.Observer]
	addMu     sync.Mutex
}

type requestLabels struct {
	method, route string
	code          int
}

// SubmitRoute is the route whose refusals count as refused submissions.
const SubmitRoute = "/api/comments"

// New builds the registry, listens to svc's committed changes and reads src
// at each scrape.
func New(svc *moderation.Service, src Source) *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "parley_http_request_duration_seconds",
			Help:    "Time to answer HTTP requests, by method, route template and status code.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"method", "route", "code"}),
		submissions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "parley_submissions_total",
			Help: "Comment submissions by site and outcome: pending, spam, approved (trusted commenter), refused (4xx), aborted (the client did not finish sending), error (5xx); refusals before a site is known count under site \"unknown\".",
		}, []string{"site", "outcome"}),
		moderations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "parley_moderation_actions_total",
			Help: "Comments moved by moderators, by site and action: approve, reject, spam, delete.",
		}, []string{"site", "action"}),
		notifications: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "parley_notifications_total",
			Help: "Notification attempts by channel (email, webhook) and outcome (sent, error, given_up, skipped).",
		}, []string{"channel", "outcome"}),
	}
	m.sites.known = map[string]bool{}
	for _, o := range []string{"pending", "spam", "approved", "refused", "aborted", "error"} {
		m.submissions.WithLabelValues(moderation.DefaultSite, o)
	}
	for _, a := range []moderation.Action{moderation.ActionApprove, moderation.ActionReject, moderation.ActionSpam, moderation.ActionDelete} {
		m.moderations.WithLabelValues(moderation.DefaultSite, string(a))
	}
	for _, ch := range []string{"email", "webhook"} {
		for _, o := range []string{"sent", "error", "given_up", "skipped"} {
			m.notifications.WithLabelValues(ch, o)
		}
	}
	m.observers.Store(&map[requestLabels]prometheus.Observer{})
	m.reg.MustRegister(m.requests, m.submissions, m.moderations, m.notifications, &dbCollector{src: src},
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	svc.Subscribe(m.count)
	return m
}

// actionOf names the moderation action that moved a comment to a status.
var actionOf = map[moderation.Status]moderation.Action{
	moderation.StatusApproved: moderation.ActionApprove,
	moderation.StatusRejected: moderation.ActionReject,
	moderation.StatusSpam:     moderation.ActionSpam,
}

func (m *Metrics) count(_ context.Context, e moderation.Event) {
	if e.Remote { // another instance counts its own
		return
	}
	for _, c := range e.Comments {
		site := m.sites.label(c.Site)
		switch e.Kind {
		case moderation.EventSubmitted:
			m.submissions.WithLabelValues(site, string(c.Status)).Inc()
		case moderation.EventModerated:
			if a, ok := actionOf[c.Status]; ok {
				m.moderations.WithLabelValues(site, string(a)).Inc()
			}
		case moderation.EventDeleted:
			m.moderations.WithLabelValues(site, string(moderation.ActionDelete)).Inc()
		}
	}
}

// MaxSiteLabels bounds the site label: the first sites seen keep their own
// series, the rest are counted under "other", so that an instance of
// thousands of blogs does not make thousands of series per metric.
const MaxSiteLabels = 100

// siteLabels hands out the bounded site label.
type siteLabels struct {
	mu    sync.Mutex
	known map[string]bool
}

func (l *siteLabels) label(site string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.known[site] {
		return site
	}
	if len(l.known) >= MaxSiteLabels {
		return "other"
	}
	l.known[site] = true
	return site
}

// ObserveRequest records one answered request. route is the route
// template ("/api/admin/comments/:id"), never the URL, so that labels stay
// few and hold no user data. aborted says the client did not finish sending
// its body (cut off or stalled): a submission then counts as "aborted", not
// as "refused" or "error", since no operator can act on it.
func (m *Metrics) ObserveRequest(method, route string, code int, aborted bool, d time.Duration) {
	if route == "" {
		route = "unmatched"
	}
	m.observer(requestLabels{method, route, code}).Observe(d.Seconds())
	if method == http.MethodPost && route == SubmitRoute {
		switch {
		case aborted:
			m.submissions.WithLabelValues("unknown", "aborted").Inc()
		case code >= 500:
			m.submissions.WithLabelValues("unknown", "error").Inc()
		case code >= 400:
			m.submissions.WithLabelValues("unknown", "refused").Inc()
		}
	}
}

func (m *Metrics) observer(l requestLabels) prometheus.Observer {
	if o, ok := (*m.observers.Load())[l]; ok {
		return o
	}
	m.addMu.Lock()
	defer m.addMu.Unlock()
	old := *m.observers.Load()
	if o, ok := old[l]; ok {
		return o
	}
	o := m.requests.WithLabelValues(l.method, l.route, strconv.Itoa(l.code))
	next := maps.Clone(old)
	next[l] = o
	m.observers.Store(&next)
	return o
}

// Notification counts one notification outcome (see notify.Recorder).
func (m *Metrics) Notification(channel, outcome string) {
	m.notifications.WithLabelValues(channel, outcome).Inc()
}

// Handler serves the registry in Prometheus's text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// dbCollector reads the database's statistics and the outbox at scrape time.
type dbCollector struct{ src Source }

var (
	outbox = prometheus.NewDesc("parley_outbox_depth", "Notifications waiting, by status: pending, retrying, failed (given up, kept 14 days), changes (not yet planned).", []string{"status"}, nil)
)

// Describe describes nothing, which makes the collector unchecked: each
// backend names its own figures (see moderation.StoreStats).
func (c *dbCollector) Describe(chan<- *prometheus.Desc) {}

func (c *dbCollector) Collect(ch chan<- prometheus.Metric) {
	for _, st := range c.src.Stats() {
		kind := prometheus.GaugeValue
		if st.Counter {
			kind = prometheus.CounterValue
		}
		desc := prometheus.NewDesc("parley_db_"+st.Name, st.Help, nil, nil)
		ch <- prometheus.MustNewConstMetric(desc, kind, st.Value)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	depth, err := c.src.OutboxDepth(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(outbox, err)
		return
	}
	for status, n := range depth {
		ch <- prometheus.MustNewConstMetric(outbox, prometheus.GaugeValue, float64(n), status)
	}
}
