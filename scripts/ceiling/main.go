// Command ceiling is the bare ceiling of the read path for scripts/load.sh:
// a minimal net/http server, in its own process, that answers every request
// with fixed bytes and a Content-Length, gzipped ones when the request's
// Accept-Encoding names gzip. load.sh feeds it the exact bytes Parley
// returned for the thread it measures, so the two serve the same payload
// and the difference is what Parley does per request.
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
	flag.Parse()
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
		h.Set("Content-Type", "application/json; charset=UTF-8")
		if strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
			h.Set("Content-Encoding", "gzip")
			h.Set("Content-Length", gzLen)
			_, _ = w.Write(gz)
			return
		}
		h.Set("Content-Length", bodyLen)
		_, _ = w.Write(body)
	})))
}
