package bolt

import (
	"time"

	bbolt "go.etcd.io/bbolt"

	"parley/moderation"
)

// publicFields are the fields of a stored comment that readers may see,
// plus what the thread needs to place it. Decoding only these skips the
// email, IP hash, raw body and history: the read path serving readers never
// holds them, and decodes a comment about 2.5 times faster (measured on
// seeded comments, see BENCHMARKS.md), which is what a thread costs when it
// is not in the server's cache.
type publicFields struct {
	ID      string            `json:"id"`
	Site    string            `json:"site"`
	Post    string            `json:"post"`
	Parent  string            `json:"parent"`
	Depth   int               `json:"depth"`
	Author  string            `json:"author"`
	Website string            `json:"website"`
	HTML    string            `json:"html"`
	Status  moderation.Status `json:"status"`
	BySite  bool              `json:"by_site"`
	Created time.Time         `json:"created"`
}

// loadPublic decodes the public fields of comment id into a Comment whose
// private fields are empty.
func loadPublic(comments *bbolt.Bucket, id []byte) (*moderation.Comment, error) {
	var p publicFields
	if err := load(comments, id, &p); err != nil {
		return nil, err
	}
	return &moderation.Comment{ID: p.ID, Site: p.Site, Post: p.Post, Parent: p.Parent, Depth: p.Depth, Author: p.Author,
		Website: p.Website, HTML: p.HTML, Status: p.Status, BySite: p.BySite, Created: p.Created}, nil
}
