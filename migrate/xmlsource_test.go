package migrate

import (
	"encoding/xml"
	"io"
	"strings"
	"testing"
)

// TestXMLSource checks what encoding/xml reads through an xmlSource: the
// text of <t>, and the problem noted for its record.
func TestXMLSource(t *testing.T) {
	for _, c := range []struct {
		in, text, problem string
	}{
		{"<t>plain</t>", "plain", ""},
		{"\xef\xbb\xbf<t>after a BOM</t>", "after a BOM", ""},
		{"<t>a\r\nb</t>", "a\nb", ""},
		{"<t>Caf&eacute;&nbsp;&amp; &#233; &#x1F600;</t>", "Café\u00a0& é 😀", ""},
		{"<t>Tom & Jerry &unknown; &#xZZ;</t>", "Tom & Jerry &unknown; &#xZZ;", ""},
		{"<t>odd ]]> here</t>", "odd ]]> here", ""},
		{"<t>bell \x01</t>", "bell \uFFFD", "line 1: has the control character U+0001, which XML does not allow"},
		{"<t>ref &#1; &#xFFFF;</t>", "ref \uFFFD \uFFFD", "line 1: has the character reference &#1;, which XML does not allow"},
		{"<t>\n\nbad \xff byte</t>", "\n\nbad \uFFFD byte", "line 3: is not valid UTF-8"},
		{"<t a=1>unquoted</t>", "unquoted", "line 1: has an attribute value without quotes"},
		{"<t><a b=2/>x</t>", "x", "line 1: has an attribute value without quotes"},
		{"<t><![CDATA[<b>&amp;</b>]]></t>", "<b>&amp;</b>", ""},
		{"<t><!-- a comment --><![CDATA[x]]>y</t>", "xy", ""},
	} {
		src := newXMLSource(strings.NewReader(c.in))
		dec := xml.NewDecoder(src)
		dec.Strict, dec.Entity = true, xml.HTMLEntity
		var text strings.Builder
		for {
			tok, err := dec.Token()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("%q: %v", c.in, err)
			}
			if cd, ok := tok.(xml.CharData); ok {
				text.Write(cd)
			}
		}
		if text.String() != c.text || src.problem != c.problem {
			t.Errorf("%q: text %q problem %q; want %q %q", c.in, text.String(), src.problem, c.text, c.problem)
		}
	}
}

// TestXMLSourceCuts: a run of text, CDATA or a comment longer than
// maxField is cut there and counted; a tag longer than maxMarkup stops.
func TestXMLSourceCuts(t *testing.T) {
	long := strings.Repeat("x", maxField+10)
	for _, in := range []string{"<t>" + long + "</t>", "<t><![CDATA[" + long + "]]]]></t>", "<t><!--" + long + "--->y</t>"} {
		src := newXMLSource(strings.NewReader(in))
		out, err := io.ReadAll(src)
		if err != nil || src.cuts != 1 || len(out) > maxField+32 || !strings.HasSuffix(string(out), "</t>") {
			t.Errorf("%.20q: %d bytes, %d cuts, %v, ends %q", in, len(out), src.cuts, err, out[max(0, len(out)-20):])
		}
	}
	src := newXMLSource(strings.NewReader(`<t a="` + strings.Repeat("y", maxMarkup+1) + `"/>`))
	if _, err := io.ReadAll(src); err == nil || !strings.Contains(err.Error(), "a tag is longer than 64 KiB") {
		t.Errorf("a long tag: %v", err)
	}
}
