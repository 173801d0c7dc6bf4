// Package migrate reads and writes the files that carry comments in and out
// of Parley: its own ndjson and json exports, CSV for spreadsheets, and the
// XML of WordPress (WXR) and Disqus. Encoders write one comment at a time to
// an io.Writer and decoders read one record at a time, so memory stays flat
// whatever the file's size. The formats are documented in docs/formats.md.
//
// It imports moderation (the comment and record types) and nothing else of
// ours; moderation decides what is valid and how a record is stored.
package migrate
