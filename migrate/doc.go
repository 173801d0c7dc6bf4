// Package migrate reads and writes the files that carry comments in and out
// of Parley: its own ndjson and json exports, CSV for spreadsheets, and the
// XML of WordPress (WXR) and Disqus. Encoders write one comment at a time to
// an io.Writer and decoders read one record at a time, with every field
// bounded while it is read, so memory stays flat whatever the file holds. A
// record that cannot be read is returned with its problem, so that the
// import goes on; only a file that is not of its format, or is cut short,
// ends with an error. The formats are documented in docs/formats.md.
//
// It imports moderation (the comment and record types) and nothing else of
// ours; moderation decides what is valid and how a record is stored.
package migrate
