package notify_test

import (
	"net/http"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"parley/moderation"
	"parley/storage/testdb"
)

// scrape reads /metrics as Prometheus does and parses it.
func (a *app) scrape(t *testing.T) map[string]*dto.MetricFamily {
	t.Helper()
	status, body := a.do(t, http.MethodGet, "/metrics", "", "", "Authorization", "Bearer "+a.Metrics)
	if status != http.StatusOK {
		t.Fatalf("/metrics: %d %s", status, body)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	return families
}

// value returns the value of the series of family whose labels include want.
func value(t *testing.T, families map[string]*dto.MetricFamily, family string, want map[string]string) float64 {
	t.Helper()
	f := families[family]
	if f == nil {
		t.Fatalf("no metric %s", family)
	}
	total, found := 0.0, false
next:
	for _, m := range f.Metric {
		for _, l := range m.Label {
			if v, ok := want[l.GetName()]; ok && v != l.GetValue() {
				continue next
			}
		}
		found = true
		switch {
		case m.Counter != nil:
			total += m.Counter.GetValue()
		case m.Gauge != nil:
			total += m.Gauge.GetValue()
		case m.Histogram != nil:
			total += float64(m.Histogram.GetSampleCount())
		}
	}
	if !found {
		t.Fatalf("no series of %s with %v", family, want)
	}
	return total
}

func TestMetricsMoveWithActions(t *testing.T) {
	ms := startMailServer(t, "127.0.0.1:0", nil, false)
	a := startApp(t, appOptions{}, smtpTo(ms))
	a.addModerator(t, "alice", "alice@example.com", moderation.EmailImmediate)

	if status, _ := a.do(t, http.MethodGet, "/metrics", "", ""); status != http.StatusUnauthorized {
		t.Fatalf("/metrics without the token: %d", status)
	}
	if status, _ := a.do(t, http.MethodGet, "/metrics", "", "", "Authorization", "Bearer wrong"); status != http.StatusUnauthorized {
		t.Fatalf("/metrics with a wrong token: %d", status)
	}
	before := a.scrape(t)
	pending := value(t, before, "parley_submissions_total", map[string]string{"site": "default", "outcome": "pending"})
	refused := value(t, before, "parley_submissions_total", map[string]string{"outcome": "refused"})
	approved := value(t, before, "parley_moderation_actions_total", map[string]string{"action": "approve"})
	sent := value(t, before, "parley_notifications_total", map[string]string{"channel": "email", "outcome": "sent"})

	id := a.submit(t, ada)
	if status, _ := a.do(t, http.MethodPost, "/api/comments", "application/json", `{"post": ""}`); status != http.StatusBadRequest {
		t.Fatalf("a bad submission: %d", status)
	}
	ms.next(t)
	a.moderate(t, id, "approve")
	a.settled(t)

	after := a.scrape(t)
	for _, c := range []struct {
		family string
		labels map[string]string
		want   float64
	}{
		{"parley_submissions_total", map[string]string{"site": "default", "outcome": "pending"}, pending + 1},
		{"parley_submissions_total", map[string]string{"outcome": "refused"}, refused + 1},
		{"parley_moderation_actions_total", map[string]string{"action": "approve"}, approved + 1},
		{"parley_notifications_total", map[string]string{"channel": "email", "outcome": "sent"}, sent + 1},
		{"parley_outbox_depth", map[string]string{"status": "pending"}, 0},
		{"parley_http_request_duration_seconds", map[string]string{"route": "/api/admin/comments/:id/approve", "code": "200"}, 1},
	} {
		if got := value(t, after, c.family, c.labels); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.family, c.labels, got, c.want)
		}
	}
	// Each backend names its own figures: bbolt its file, PostgreSQL its pool.
	if testdb.Postgres() {
		if value(t, after, "parley_db_pool_connections", nil) <= 0 || value(t, after, "parley_db_pool_acquires_total", nil) <= 0 {
			t.Error("the database metrics are empty")
		}
	} else if value(t, after, "parley_db_size_bytes", nil) <= 0 || value(t, after, "parley_db_read_transactions_total", nil) <= 0 {
		t.Error("the database metrics are empty")
	}
	for _, m := range after["parley_http_request_duration_seconds"].Metric {
		for _, l := range m.Label {
			if l.GetName() == "route" && strings.Contains(l.GetValue(), id) {
				t.Errorf("a route label holds a URL: %q", l.GetValue())
			}
		}
	}
}

func TestHealthAndReadiness(t *testing.T) {
	a := startApp(t, appOptions{}, nil)
	for _, path := range []string{"/healthz", "/readyz"} {
		if status, body := a.do(t, http.MethodGet, path, "", ""); status != http.StatusOK {
			t.Fatalf("%s: %d %s", path, status, body)
		}
	}
	_ = a.DB.Close()
	if status, body := a.do(t, http.MethodGet, "/readyz", "", ""); status != http.StatusServiceUnavailable || !strings.Contains(body, `"unavailable"`) {
		t.Fatalf("/readyz with the database closed: %d %s", status, body)
	}
	if status, _ := a.do(t, http.MethodGet, "/healthz", "", ""); status != http.StatusOK {
		t.Fatalf("/healthz with the database closed: %d", status)
	}
}

func TestNotificationSettingsNeedAModerator(t *testing.T) {
	a := startApp(t, appOptions{}, nil)
	auth := []string{"Authorization", "Bearer " + a.Token}
	status, body := a.do(t, http.MethodGet, "/api/admin/me/notifications", "", "", auth...)
	if status != http.StatusForbidden || !strings.Contains(body, "parley moderator notify") {
		t.Fatalf("GET with an API token: %d %s", status, body)
	}
	status, _ = a.do(t, http.MethodPut, "/api/admin/me/notifications", "application/json", `{"email": "x@example.com"}`, auth...)
	if status != http.StatusForbidden {
		t.Fatalf("PUT with an API token: %d", status)
	}
	if status, _ := a.do(t, http.MethodGet, "/api/admin/me/notifications", "", ""); status != http.StatusUnauthorized {
		t.Fatalf("GET signed out: %d", status)
	}
}
