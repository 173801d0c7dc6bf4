package bolt

import "time"

// The write path's tuning. Group commit. Concurrent submissions go through bbolt's Batch, which
// gathers the writes that arrive within maxBatchDelay of the first into one
// transaction and one fsync; a batch that reaches maxBatchSize starts at
// once. bbolt's defaults (1000 writes, 10 ms) make every lone submission wait
// 10 ms; a commit on an SSD takes well under that, and while one batch
// commits the next one fills anyway, so a short delay loses no grouping under
// load and answers quickly when idle. BENCHMARKS.md ("Read path, write path,
// scale") has the measurements behind these figures.
const (
	maxBatchSize  = 256
	maxBatchDelay = 2 * time.Millisecond
)

// appendFill is how full bbolt packs a page before splitting it in the
// buckets keyed by comment ID. IDs grow with time, so new comments land at
// the end, and bbolt's default (half full, for random inserts) would leave
// every page half empty: with 0.9 a database of 100,000 comments is 31%
// smaller and seeds 40% faster. Set per transaction: bbolt does not store it.
const appendFill = 0.9

// SetBatchLimits changes how many writes one group commit may hold and how
// long the first waits for company. A size of 1 gives every write its own
// commit: benchmarks use it as the baseline that group commit is measured
// against.
func (db *DB) SetBatchLimits(size int, delay time.Duration) {
	db.bolt.MaxBatchSize, db.bolt.MaxBatchDelay = size, delay
}
