package notify_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"parley/moderation"
)

// BenchmarkModeratorEmail measures the worker's email throughput: b.N
// pending comments, each emailed to one moderator through a real SMTP
// conversation on loopback (one connection per message), from the commit
// of the comment to the server's receipt of the mail.
func BenchmarkModeratorEmail(b *testing.B) {
	ms := startMailServer(b, "127.0.0.1:0", nil, false)
	a := startApp(b, appOptions{realClock: true}, smtpTo(ms))
	a.addModerator(b, "alice", "alice@example.com", moderation.EmailImmediate)
	ctx := context.Background()
	b.ResetTimer()
	start := time.Now()
	for i := range b.N {
		sub := moderation.Submission{Post: "/bench", Author: "Ada", Email: "ada@example.com", Body: fmt.Sprintf("Comment %d", i)}
		if _, err := a.Svc.Submit(ctx, moderation.DefaultSite, sub, moderation.Client{}); err != nil {
			b.Fatal(err)
		}
	}
	for range b.N {
		ms.next(b)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "emails/s")
}

// BenchmarkNotificationLatency measures one comment's way from its commit
// to the moderator's mail server, with the worker idle in between.
func BenchmarkNotificationLatency(b *testing.B) {
	ms := startMailServer(b, "127.0.0.1:0", nil, false)
	a := startApp(b, appOptions{realClock: true}, smtpTo(ms))
	a.addModerator(b, "alice", "alice@example.com", moderation.EmailImmediate)
	ctx := context.Background()
	b.ResetTimer()
	for range b.N {
		if _, err := a.Svc.Submit(ctx, moderation.DefaultSite, moderation.Submission{Post: "/bench", Author: "Ada", Email: "ada@example.com", Body: "Hi"}, moderation.Client{}); err != nil {
			b.Fatal(err)
		}
		ms.next(b)
	}
}
