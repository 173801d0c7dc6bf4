package classifier

import "testing"

// FuzzExtract feeds arbitrary comments to the feature extractor and the
// model: no panic, at most MaxFeatures distinct features, every hash inside
// the model, and a score between 0 and 1.
func FuzzExtract(f *testing.F) {
	for _, s := range []string{"", "Check https://www.x.com/a and www.y.org", "東京タワー สวัสดี", "a'b 3.14 1,000 x_y",
		"\xff\xfe broken", "http://@:/", "www.", "ＷＷＷ．ｘ．ｃｏｍ"} {
		f.Add(s, "Name", "a@b.c", "site.example")
	}
	m := New()
	m.Learn(Spam, Hashes(Extract(Input{Body: "win free money http://x.example"})), 1)
	m.Learn(Ham, Hashes(Extract(Input{Body: "thanks for the post"})), 1)
	f.Fuzz(func(t *testing.T, body, author, email, website string) {
		fs := Extract(Input{Body: body, Author: author, Email: email, Website: website})
		if len(fs) > MaxFeatures {
			t.Fatalf("%d features", len(fs))
		}
		seen := map[uint32]bool{}
		for _, f := range fs {
			if f.Hash >= Buckets || seen[f.Hash] {
				t.Fatalf("hash %d out of range or repeated", f.Hash)
			}
			seen[f.Hash] = true
		}
		if s := m.Score(fs); !(s.Spam >= 0 && s.Spam <= 1) || len(s.Top) > TopFeatures {
			t.Fatalf("score %+v", s)
		}
	})
}
