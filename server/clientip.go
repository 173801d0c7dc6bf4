package server

import (
	"net"
	"time"

	"github.com/labstack/echo/v4"
)

// clientIP decides where a request comes from. With no trusted proxies it is
// the peer address, whatever the headers say. With trusted proxies it is the
// first address in X-Forwarded-For, read from the right, that is not one of
// them: a client can prepend anything, but not past the proxy that appended
// its real address. Echo trusts loopback and private networks by default;
// Parley trusts exactly what it is told.
func clientIP(trusted []*net.IPNet) echo.IPExtractor {
	if len(trusted) == 0 {
		return echo.ExtractIPDirect()
	}
	opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
	for _, n := range trusted {
		opts = append(opts, echo.TrustIPRange(n))
	}
	return echo.ExtractIPFromXFFHeader(opts...)
}

// Timeouts bound how long a client may take, so that slow or stuck clients
// (slowloris) hold a connection for seconds, not forever.
type Timeouts struct {
	ReadHeader time.Duration // to send the request line and headers
	Read       time.Duration // to send the whole request, body included
	Write      time.Duration // from the end of the headers to the end of the answer
	Idle       time.Duration // between requests on a kept-alive connection
}

func (t Timeouts) orDefaults() Timeouts {
	for _, f := range []struct {
		v   *time.Duration
		def time.Duration
	}{{&t.ReadHeader, readHeaderTimeout}, {&t.Read, readTimeout}, {&t.Write, writeTimeout}, {&t.Idle, idleTimeout}} {
		if *f.v <= 0 {
			*f.v = f.def
		}
	}
	return t
}
