package yamltree

import (
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// checkText accepts src only if every character is one yaml.v3 reads as
// an ordinary printable character or '\n': no tab, carriage return, BOM,
// other control or Unicode line separator, and valid UTF-8. It also says
// whether src is all ASCII.
func checkText(src string) (ascii, ok bool) {
	ascii = true
	for i := 0; i < len(src); {
		c := src[i]
		if c < utf8.RuneSelf {
			if c < 0x20 && c != '\n' || c == 0x7f {
				return false, false
			}
			i++
			continue
		}
		ascii = false
		r, size := utf8.DecodeRuneInString(src[i:])
		switch {
		case r == utf8.RuneError && size == 1, r < 0xa0, r == 0x2028, r == 0x2029, r == 0xfeff, r == 0xfffe, r == 0xffff:
			return false, false
		}
		i += size
	}
	return ascii, true
}

// keyByte reports whether c may appear in a plain key: what desired-state
// keys and set names are made of. Anything else leaves the file to yaml.v3.
func keyByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '_' || c == '-' || c == '.' || c == '/' || c == '@' || c == ' ' || c >= utf8.RuneSelf
}

// maxKey stays under yaml.v3's limit of 1024 characters for a simple key.
const maxKey = 1000

// keyEnd returns the offset of the ':' that ends the plain key starting at
// o, or -1 when there is none on the line.
func (p *parser) keyEnd(o int) int {
	if !plainStart(p.src[o]) {
		return -1
	}
	for i := o; i < p.end && i-o < maxKey; i++ {
		c := p.src[i]
		if c == ':' && (i+1 == p.end || p.src[i+1] == ' ') && p.src[i-1] != ' ' {
			return i
		}
		if !keyByte(c) {
			return -1
		}
	}
	return -1
}

func (p *parser) startsKey(o int) bool {
	return p.keyEnd(o) >= 0
}

// key parses the plain key at the current offset; after is past its ':'.
func (p *parser) key() (k int32, after int) {
	end := p.keyEnd(p.off)
	if end < 0 {
		p.outside()
	}
	if tag, ok := resolvePlain(p.src[p.off:end]); !ok || tag != tagStr {
		p.outside() // "true:", "~:", "1:": keys that are not strings
	}
	return p.node(yaml.ScalarNode, tagStr, p.off, p.off, end), end + 1
}

// inline parses the value at o, which must end the line (but for spaces
// and a comment).
func (p *parser) inline(o int) int32 {
	var n int32
	var end int
	switch p.src[o] {
	case '{':
		n, end = p.flowMapping(o)
	case '[':
		n, end = p.flowSequence(o)
	case '"', '\'':
		n, end = p.quoted(o)
	default:
		n, end = p.plain(o, false)
	}
	i := end
	for i < p.end && p.src[i] == ' ' {
		i++
	}
	if i < p.end && (p.src[i] != '#' || i == end) {
		p.outside()
	}
	return n
}

// plainStart reports whether c can start a plain scalar that Parse reads:
// not an indicator, and not the '-', '?' or ':' that could start one.
func plainStart(c byte) bool {
	return !strings.ContainsRune(" -?:,[]{}#&*!|>'\"%@`", rune(c))
}

// plain parses a plain scalar at o (inside a flow collection when flow) and
// returns it with the offset past its last character.
func (p *parser) plain(o int, flow bool) (int32, int) {
	if !plainStart(p.src[o]) {
		p.outside()
	}
	i := o
scan:
	for ; i < p.end; i++ {
		switch p.src[i] {
		case ':':
			if flow || i+1 == p.end || p.src[i+1] == ' ' {
				p.outside() // "a: b: c", or a flow key without a space
			}
		case '#':
			if p.src[i-1] == ' ' {
				break scan // a comment
			}
		case ',', ']', '}':
			if flow {
				break scan
			}
		case '[', '{':
			if flow {
				p.outside()
			}
		}
	}
	for i > o && p.src[i-1] == ' ' {
		i--
	}
	tag, ok := resolvePlain(p.src[o:i])
	if !ok {
		p.outside()
	}
	return p.node(yaml.ScalarNode, tag, o, o, i), i
}

// resolvePlain is the tag yaml.v3 gives a plain scalar, for the texts
// where that is simple: strings that cannot be read as anything else,
// booleans, nulls and decimal integers. Other numbers, timestamps and the
// merge key are left to yaml.v3 (false).
func resolvePlain(s string) (uint8, bool) {
	switch s {
	case "true", "True", "TRUE", "false", "False", "FALSE":
		return tagBool, true
	case "~", "null", "Null", "NULL":
		return tagNull, true
	}
	switch c := s[0]; {
	case '0' <= c && c <= '9':
		switch {
		case s == "0" || c != '0' && len(s) <= 18 && strings.Trim(s, "0123456789") == "":
			return tagInt, true
		case surelyString(s):
			return tagStr, true
		}
		return 0, false
	case c == '+' || c == '-' || c == '.' || c == '<':
		return 0, false
	}
	return tagStr, true
}

// surelyString reports whether yaml.v3 surely reads s, a plain scalar that
// starts with a digit, as a string. It would try a date only when s starts
// with four digits and a '-'. An integer or a float has at most one '.',
// and no '-' after its first character but an exponent's. So two dots (an
// IP address) or such a '-' (an object id) settle it.
func surelyString(s string) bool {
	digits := 0
	for digits < len(s) && '0' <= s[digits] && s[digits] <= '9' {
		digits++
	}
	if digits == 4 && digits < len(s) && s[digits] == '-' {
		return false
	}
	if strings.Count(s, ".") >= 2 {
		return true
	}
	for i := 1; i < len(s); i++ {
		if s[i] == '-' && s[i-1] != 'e' && s[i-1] != 'E' {
			return true
		}
	}
	return false
}

// quoted parses a single- or double-quoted scalar that closes on its line.
// Of the escapes only \" and \\ are read here.
func (p *parser) quoted(o int) (int32, int) {
	q := p.src[o]
	var b strings.Builder
	seg := o + 1
	i := o + 1
	for ; ; i++ {
		if i >= p.end {
			p.outside() // it goes on on the next line
		}
		c := p.src[i]
		if q == '\'' && c == '\'' {
			if i+1 < p.end && p.src[i+1] == '\'' {
				b.WriteString(p.src[seg : i+1])
				i++
				seg = i + 1
				continue
			}
			break
		}
		if q == '"' && c == '"' {
			break
		}
		if q == '"' && c == '\\' {
			if i+1 >= p.end || !strings.ContainsRune(`"\`, rune(p.src[i+1])) {
				p.outside()
			}
			b.WriteString(p.src[seg:i])
			i++
			b.WriteByte(p.src[i])
			seg = i + 1
		}
	}
	n := p.node(yaml.ScalarNode, tagStr, o, o+1, i)
	if b.Len() > 0 || seg != o+1 {
		// An escape: the value is not a piece of src.
		b.WriteString(p.src[seg:i])
		p.t.strs = append(p.t.strs, b.String())
		p.t.nodes[n].value = span{off: -int32(len(p.t.strs))}
	}
	return n, i + 1
}

func (p *parser) spaces(i int) int {
	for i < p.end && p.src[i] == ' ' {
		i++
	}
	if i >= p.end {
		p.outside() // a flow collection that goes on on the next line
	}
	return i
}

// flowMapping parses "{key: value, ...}" on one line; a value is a scalar
// or a flow sequence of scalars.
func (p *parser) flowMapping(o int) (int32, int) {
	m := p.node(yaml.MappingNode, tagMap, o, 0, 0)
	mark := len(p.stack)
	i := p.spaces(o + 1)
	if p.src[i] == '}' {
		return m, i + 1
	}
	for {
		end := -1
		for j := i; plainStart(p.src[i]) && j < p.end && j-i < maxKey; j++ {
			if p.src[j] == ':' {
				end = j
				break
			}
			if !keyByte(p.src[j]) {
				break
			}
		}
		if end < 0 || end+1 >= p.end || p.src[end+1] != ' ' || p.src[end-1] == ' ' {
			p.outside()
		}
		if tag, ok := resolvePlain(p.src[i:end]); !ok || tag != tagStr {
			p.outside()
		}
		k := p.node(yaml.ScalarNode, tagStr, i, i, end)
		i = p.spaces(end + 1)
		var v int32
		switch p.src[i] {
		case '[':
			v, i = p.flowSequence(i)
		case '"', '\'':
			v, i = p.quoted(i)
		case ',', '}', '{':
			p.outside() // an empty value, or a mapping in a mapping
		default:
			v, i = p.plain(i, true)
		}
		p.stack = append(p.stack, k, v)
		var closed bool
		if i, closed = p.afterEntry(i, '}'); closed {
			p.t.nodes[m].kids = p.children(mark)
			return m, i
		}
	}
}

// flowSequence parses "[item, ...]" of scalars on one line.
func (p *parser) flowSequence(o int) (int32, int) {
	s := p.node(yaml.SequenceNode, tagSeq, o, 0, 0)
	mark := len(p.stack)
	i := p.spaces(o + 1)
	if p.src[i] == ']' {
		return s, i + 1
	}
	for {
		var v int32
		switch p.src[i] {
		case '"', '\'':
			v, i = p.quoted(i)
		case ',', ']', '[', '{':
			p.outside()
		default:
			v, i = p.plain(i, true)
		}
		p.stack = append(p.stack, v)
		var closed bool
		if i, closed = p.afterEntry(i, ']'); closed {
			p.t.nodes[s].kids = p.children(mark)
			return s, i
		}
	}
}

// afterEntry reads what follows an entry of a flow collection at i: a ", " and
// the offset of the next entry, or the closing bracket and the offset
// past it (closed).
func (p *parser) afterEntry(i int, closing byte) (int, bool) {
	i = p.spaces(i)
	switch p.src[i] {
	case ',':
		i = p.spaces(i + 1)
		if p.src[i] == closing {
			p.outside() // a trailing comma
		}
		return i, false
	case closing:
		return i + 1, true
	}
	p.outside()
	return 0, false
}
