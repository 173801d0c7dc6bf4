// Package e2e holds Parley's end-to-end tests: the real server over real
// storage, driven through a headless Chromium (chromedp) the way readers and
// moderators use it, and the real binary, built with go build, started,
// killed and restarted the way operators run it. It has no code outside its
// tests.
package e2e
