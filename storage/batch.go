package storage

import "time"

// Group commit. Concurrent submissions go through bbolt's Batch, which
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

// SetBatchLimits changes how many writes one group commit may hold and how
// long the first waits for company. A size of 1 gives every write its own
// commit: benchmarks use it as the baseline that group commit is measured
// against.
func (db *DB) SetBatchLimits(size int, delay time.Duration) {
	db.bolt.MaxBatchSize, db.bolt.MaxBatchDelay = size, delay
}
