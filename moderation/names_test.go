package moderation

import "testing"

// TestNames checks the author rule against real names in many scripts, emoji
// sequences, and the tricks that make a name lie about what it says.
func TestNames(t *testing.T) {
	accepted := []struct{ script, name string }{
		{"Latin", "Zoë Ångström-Øvergaard"},
		{"Latin, the issue's example", "Zoë 🎉👩‍💻 مرحبا שלום"},
		{"Greek", "Αλέξανδρος Παπαδόπουλος"},
		{"Cyrillic", "Анна Ахматова"},
		{"Armenian", "Արամ Խաչատրյան"},
		{"Georgian", "ნინო ბურჯანაძე"},
		{"Hebrew", "שלום עליכם"},
		{"Arabic", "نجيب محفوظ"},
		{"Persian with ZWNJ", "می‌خواهم مهرداد"},
		{"Persian name with ZWNJ", "فرخ‌زاد"},
		{"Kurdish (Sorani) with ZWNJ", "هێمن‌پور"},
		{"Urdu", "فیض احمد فیض"},
		{"Syriac", "ܐܦܪܝܡ"},
		{"Thaana", "މުޙައްމަދު"},
		{"N'Ko", "ߛߐߟߐߡߊ߲"},
		{"Devanagari", "अमिताभ बच्चन"},
		{"Devanagari with ZWJ (eyelash ra)", "र्‍य"},
		{"Devanagari with ZWNJ after virama", "क्‌ष"},
		{"Bengali", "রবীন্দ্রনাথ ঠাকুর"},
		{"Gurmukhi", "ਗੁਰੂ ਨਾਨਕ"},
		{"Gujarati", "મહાત્મા ગાંધી"},
		{"Tamil", "சுப்பிரமணிய பாரதி"},
		{"Telugu", "శ్రీనివాస"},
		{"Kannada", "ಕುವೆಂಪು"},
		{"Malayalam with ZWJ (chillu)", "കമല്‍ ഹാസന്‍"},
		{"Sinhala with ZWJ (yansaya)", "ශ්‍රී ලංකා"},
		{"Thai", "สมชาย ใจดี"},
		{"Lao", "ສຸລິຍະ"},
		{"Khmer", "សុខ សាន"},
		{"Myanmar", "အောင်ဆန်းစုကြည်"},
		{"Tibetan", "བསྟན་འཛིན་རྒྱ་མཚོ"},
		{"Mongolian", "ᠴᠢᠩᠭᠢᠰ"},
		{"Ethiopic", "ኃይለ ሥላሴ"},
		{"Cherokee", "ᏎᏉᏯ"},
		{"Han", "李白"},
		{"Japanese", "村上 春樹 むらかみ ハルキ"},
		{"Hangul", "김민준"},
		{"Yi", "ꆈꌠꁱꂷ"},
		{"Vietnamese", "Nguyễn Thị Minh Khai"},
		{"Canadian Syllabics", "ᐊᓂᔑᓈᐯ"},
		{"Tifinagh", "ⵜⴰⵎⴰⵣⵉⵖⵜ"},
		{"skin tone", "Sam 👋🏽"},
		{"ZWJ family", "The Kims 👨‍👩‍👧‍👦"},
		{"ZWJ with skin tones", "🧑🏿‍🤝‍🧑🏻 Pat"},
		{"ZWJ profession with VS16", "👩‍⚕️ Dr Lee"},
		{"rainbow flag", "🏳️‍🌈 Alex"},
		{"flag", "🇫🇷 Camille"},
		{"subdivision flag", "🏴󠁧󠁢󠁳󠁣󠁴󠁿 Iain"},
		{"keycap", "Agent 0️⃣0️⃣7️⃣"},
		{"emoji only", "🦊"},
	}
	v := NewValidator()
	for _, tt := range accepted {
		t.Run(tt.script, func(t *testing.T) {
			s := valid()
			s.Author = tt.name
			if err := v.Check(&s); err != nil {
				t.Errorf("%q refused: %v", tt.name, err)
			}
		})
	}
	refused := []struct{ trick, name string }{
		{"bidi override", "Ada\u202Egnp.exe"},
		{"bidi embedding", "\u202BAda\u202C"},
		{"bidi isolate", "Ada\u2067x\u2069"},
		{"right-to-left mark", "Ada\u200F"},
		{"arabic letter mark", "Ada\u061C"},
		{"zero width space", "A\u200Bda"},
		{"word joiner", "A\u2060da"},
		{"byte order mark", "\uFEFFAda"},
		{"soft hyphen", "A\u00ADda"},
		{"leading ZWJ", "\u200DAda"},
		{"trailing ZWJ", "Ada\u200D"},
		{"ZWJ between Latin letters", "Ad\u200Da"},
		{"ZWNJ between Latin letters", "Ad\u200Ca"},
		{"leading ZWNJ", "\u200Cفرخ"},
		{"trailing ZWNJ", "فرخ\u200C"},
		{"ZWNJ after a right-joining letter", "ا\u200Cب"},
		{"lone ZWJ", "\u200D"},
		{"lone ZWNJ", "\u200C"},
		{"ZWJ after an emoji, nothing after", "👩\u200D"},
		{"ZWJ between emoji and letter", "👩\u200Da"},
		{"ZWJ between spaces", "Ada \u200D Lovelace"},
		{"two joiners", "👩\u200D\u200D💻"},
		{"tag characters after a letter", "Ada\U000E0041\U000E0042"},
		{"Hangul filler only", "\u3164"},
		{"halfwidth Hangul filler", "Ada\uFFA0"},
		{"Braille blank only", "\u2800\u2800"},
		{"combining marks only", "\u0301\u0301"},
		{"variation selector only", "\uFE0F"},
	}
	for _, tt := range refused {
		t.Run(tt.trick, func(t *testing.T) {
			s := valid()
			s.Author = tt.name
			err := v.Check(&s)
			ve, ok := err.(*ValidationError)
			if !ok {
				t.Fatalf("%q: Check = %v, want a ValidationError", tt.name, err)
			}
			if got, want := ve.Fields["author"], messages["visible"]; got != want {
				t.Errorf("%q: fields[author] = %q, want %q", tt.name, got, want)
			}
		})
	}
}
