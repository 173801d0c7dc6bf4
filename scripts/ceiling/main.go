// Command ceiling is the bare ceiling of the read path for scripts/load.sh:
// a minimal net/http server, in its own process, that answers every request
// with fixed bytes and a Content-Length, gzipped ones when the request's
// Accept-Encoding names gzip. load.sh feeds it the exact bytes Parley
// returned for the thread it measures, so the two serve the same payload
// and the difference is what Parley does per request.
//
// Under /same-headers/ it also sends the header fields Parley sent (--headers
// and --gzip-headers: what curl -D wrote), so that the two answers are the
// same bytes on the wire, headers included: the difference is then Parley's
// work alone, not the cost of writing more header fields.
//
//	go run ./scripts/ceiling --addr 127.0.0.1:9000 --body thread.json --gzip thread.json.gz
package main

import (
	"flag"
	"log"
	"net/http"
	"os"
	"strconv"
	"strings"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "where to listen")
	bodyFile := flag.String("body", "", "the identity bytes to serve")
	gzipFile := flag.String("gzip", "", "the gzip bytes to serve to clients that accept gzip")
	headersFile := flag.String("headers", "", "Parley's header block of the identity answer (curl -D), for /same-headers/")
	gzipHeadersFile := flag.String("gzip-headers", "", "Parley's header block of the gzip answer, for /same-headers/")
	flag.Parse()
	headers, gzipHeaders := readHeaders(*headersFile), readHeaders(*gzipHeadersFile)
	body, err := os.ReadFile(*bodyFile)
	if err != nil {
		log.Fatal(err)
	}
	gz, err := os.ReadFile(*gzipFile)
	if err != nil {
		log.Fatal(err)
	}
	bodyLen, gzLen := strconv.Itoa(len(body)), strconv.Itoa(len(gz))
	log.Fatal(http.ListenAndServe(*addr, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		same := strings.HasPrefix(r.URL.Path, "/same-headers/")
		gzipped := strings.Contains(r.Header.Get("Accept-Encoding"), "gzip")
		switch {
		case same && gzipped:
			for k, v := range gzipHeaders {
				h[k] = v
			}
		case same:
			for k, v := range headers {
				h[k] = v
			}
		}
		h.Set("Content-Type", "application/json; charset=UTF-8")
		if gzipped {
			h.Set("Content-Encoding", "gzip")
			h.Set("Content-Length", gzLen)
			_, _ = w.Write(gz)
			return
		}
		h.Set("Content-Length", bodyLen)
		_, _ = w.Write(body)
	})))
}

// readHeaders reads a header block as curl -D writes it, without the fields
// net/http writes itself (Date, Content-Length).
func readHeaders(path string) http.Header {
	h := http.Header{}
	if path == "" {
		return h
	}
	data, err := os.ReadFile(path)
	if err != nil {
		log.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		name, value, ok := strings.Cut(strings.TrimRight(line, "\r"), ":")
		if !ok || strings.HasPrefix(name, "HTTP/") {
			continue
		}
		name = http.CanonicalHeaderKey(strings.TrimSpace(name))
		if name == "Date" || name == "Content-Length" {
			continue
		}
		h.Add(name, strings.TrimSpace(value))
	}
	return h
}
