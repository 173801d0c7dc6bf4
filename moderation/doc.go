// Package moderation is Parley's domain: comments, their statuses and the rules
// that move a comment from submitted to published, validation of what commenters
// type, Markdown rendering and sanitizing, moderators and API tokens, and the
// Store interface the domain needs from a database.
//
// It imports neither Echo nor bbolt: the server package adapts HTTP to it and the
// storage package implements Store.
package moderation
