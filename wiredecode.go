package bkash

import (
	"encoding"
	"encoding/json"
	"reflect"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// decodeWire is the fast path of the answer decoders. It decodes data into
// out, a pointer to one of the wire structs (paymentResponse, refundWire,
// ...), exactly as encoding/json would, and reports whether it did.
//
// It handles what bKash sends: an object whose keys are plain ASCII, with
// string members for string fields, any value for fields with their own
// UnmarshalJSON (Amount, looseTime, flexString) and arrays of objects for
// slices of structs. Keys match fields as encoding/json matches them: the
// exact name first, then case-insensitively, the first field in declaration
// order winning. Members the struct does not name are validated and skipped.
//
// Whatever else it meets (a syntax error anywhere in data, a key with an
// escape or a non-ASCII letter, a value of the wrong kind, an UnmarshalJSON
// error, a repeated array member, a struct it cannot describe) makes it
// give up: out is reset to its zero value and false is returned, so that
// encoding/json decodes data and reports the error it always reported.
//
// encoding/json scans every byte twice through a state machine (a
// validation pass, then the decode) and scans each custom field a third
// time; this decoder reads each byte once.
func decodeWire(data []byte, out any) bool {
	rv := reflect.ValueOf(out)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return false
	}
	wt := wireTypeOf(rv.Type().Elem())
	if wt == nil {
		return false
	}
	v := rv.Elem()
	d := wireDecoder{data: data}
	d.space()
	if d.pos >= len(d.data) || d.data[d.pos] != '{' || !d.object(wt, v) {
		v.SetZero()
		return false
	}
	d.space()
	if d.pos != len(d.data) {
		v.SetZero()
		return false
	}
	return true
}

// wireKind is how a field is filled.
type wireKind uint8

const (
	wireString      wireKind = iota // a string kind: from a JSON string; null leaves it
	wireUnmarshaler                 // *T implements json.Unmarshaler: handed the raw value
	wireStructSlice                 // []struct: from an array of objects; null sets nil
)

type wireField struct {
	index []int
	kind  wireKind
	elem  *wireType // element type of a wireStructSlice
}

// wireType lists the members of one struct type as encoding/json sees them.
type wireType struct {
	names  []string // in declaration order, as encoding/json lists them
	exact  map[string]*wireField
	folded map[string]*wireField // upper-cased name -> first field in declaration order
	slices int                   // number of wireStructSlice fields
}

var (
	wireTypes         sync.Map // reflect.Type -> *wireType, or nil when not supported
	jsonUnmarshalerT  = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshalerT  = reflect.TypeFor[encoding.TextUnmarshaler]()
	maxWireNameLength = 64 // longer keys are left to encoding/json
)

func wireTypeOf(t reflect.Type) *wireType {
	if wt, ok := wireTypes.Load(t); ok {
		return wt.(*wireType)
	}
	wt := newWireType(t)
	wireTypes.Store(t, wt)
	return wt
}

// newWireType describes t, or returns nil when t has anything the fast
// path does not mirror exactly (then encoding/json does all the work).
func newWireType(t reflect.Type) *wireType {
	if t.Kind() != reflect.Struct {
		return nil
	}
	var fields []struct {
		name string
		f    *wireField
	}
	var collect func(t reflect.Type, prefix []int) bool
	collect = func(t reflect.Type, prefix []int) bool {
		for i := range t.NumField() {
			sf := t.Field(i)
			tag, hasTag := sf.Tag.Lookup("json")
			if tag == "-" {
				continue
			}
			name, opts, _ := strings.Cut(tag, ",")
			if opts != "" && opts != "omitempty" && opts != "omitzero" {
				return false // ",string" and the like
			}
			if name != "" && !isValidJSONTag(name) {
				return false // encoding/json would use the Go name instead
			}
			index := append(append([]int(nil), prefix...), i)
			if sf.Anonymous && hasTag {
				return false // a tagged embedded struct is a member of its own
			}
			if sf.Anonymous {
				if sf.Type.Kind() != reflect.Struct {
					return false // embedded pointers and non-structs
				}
				if !collect(sf.Type, index) {
					return false
				}
				continue
			}
			if !sf.IsExported() {
				continue
			}
			if name == "" {
				name = sf.Name
			}
			f := &wireField{index: index}
			pt := reflect.PointerTo(sf.Type)
			switch {
			case pt.Implements(jsonUnmarshalerT):
				f.kind = wireUnmarshaler
			case pt.Implements(textUnmarshalerT):
				return false
			case sf.Type.Kind() == reflect.String:
				f.kind = wireString
			case sf.Type.Kind() == reflect.Slice && sf.Type.Elem().Kind() == reflect.Struct:
				et := sf.Type.Elem()
				if reflect.PointerTo(et).Implements(jsonUnmarshalerT) || reflect.PointerTo(et).Implements(textUnmarshalerT) {
					return false
				}
				f.kind = wireStructSlice
				if f.elem = newWireType(et); f.elem == nil {
					return false
				}
			default:
				return false
			}
			fields = append(fields, struct {
				name string
				f    *wireField
			}{name, f})
		}
		return true
	}
	if !collect(t, nil) {
		return nil
	}
	wt := &wireType{exact: make(map[string]*wireField, len(fields)), folded: make(map[string]*wireField, len(fields))}
	for _, nf := range fields {
		if _, dup := wt.exact[nf.name]; dup {
			return nil // encoding/json's dominance rules decide: not mirrored here
		}
		if len(nf.name) > maxWireNameLength || !isPlainASCII(nf.name) {
			return nil
		}
		wt.exact[nf.name] = nf.f
		wt.names = append(wt.names, nf.name)
		// For historical reasons encoding/json gives a folded match to
		// the first field in declaration order; so does this.
		if up := strings.ToUpper(nf.name); wt.folded[up] == nil {
			wt.folded[up] = nf.f
		}
		if nf.f.kind == wireStructSlice {
			wt.slices++
		}
	}
	return wt
}

// isValidJSONTag is encoding/json's rule for a usable tag name.
func isValidJSONTag(s string) bool {
	for _, c := range s {
		switch {
		case strings.ContainsRune("!#$%&()*+-./:;<=>?@[]^_{|}~ ", c):
		case !unicode.IsLetter(c) && !unicode.IsDigit(c):
			return false
		}
	}
	return true
}

func isPlainASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] >= utf8.RuneSelf || s[i] == '"' || s[i] == '\\' {
			return false
		}
	}
	return true
}

// maxWireDepth bounds the nesting of skipped values; deeper documents are
// left to encoding/json.
const maxWireDepth = 64

type wireDecoder struct {
	data  []byte
	pos   int
	depth int
}

func (d *wireDecoder) space() {
	for d.pos < len(d.data) {
		switch d.data[d.pos] {
		case ' ', '\t', '\n', '\r':
			d.pos++
		default:
			return
		}
	}
}

// object decodes the object at d.pos (its '{') into v.
func (d *wireDecoder) object(wt *wireType, v reflect.Value) bool {
	d.pos++ // '{'
	var seenSlices []*wireField
	d.space()
	if d.pos < len(d.data) && d.data[d.pos] == '}' {
		d.pos++
		return true
	}
	for {
		d.space()
		key, ok := d.key()
		if !ok {
			return false
		}
		d.space()
		if d.pos >= len(d.data) || d.data[d.pos] != ':' {
			return false
		}
		d.pos++
		d.space()
		f := wt.exact[string(key)]
		if f == nil {
			var buf [64]byte
			up := buf[:len(key)]
			for i, c := range key {
				if 'a' <= c && c <= 'z' {
					c -= 'a' - 'A'
				}
				up[i] = c
			}
			f = wt.folded[string(up)]
		}
		switch {
		case f == nil:
			if !d.skip() {
				return false
			}
		case f.kind == wireString:
			if !d.stringField(v.FieldByIndex(f.index)) {
				return false
			}
		case f.kind == wireUnmarshaler:
			start := d.pos
			if !d.skip() {
				return false
			}
			u := v.FieldByIndex(f.index).Addr().Interface().(json.Unmarshaler)
			if u.UnmarshalJSON(d.data[start:d.pos]) != nil {
				return false
			}
		case f.kind == wireStructSlice:
			for _, s := range seenSlices {
				if s == f {
					return false // encoding/json would merge into the old elements
				}
			}
			seenSlices = append(seenSlices, f)
			if !d.structSlice(f.elem, v.FieldByIndex(f.index)) {
				return false
			}
		}
		d.space()
		if d.pos >= len(d.data) {
			return false
		}
		switch d.data[d.pos] {
		case ',':
			d.pos++
		case '}':
			d.pos++
			return true
		default:
			return false
		}
	}
}

// key reads an object key. Only plain ASCII keys of reasonable length are
// handled: an escape or a non-ASCII letter would need encoding/json's
// unescaping and Unicode case folding.
func (d *wireDecoder) key() ([]byte, bool) {
	if d.pos >= len(d.data) || d.data[d.pos] != '"' {
		return nil, false
	}
	start := d.pos + 1
	for i := start; i < len(d.data); i++ {
		switch c := d.data[i]; {
		case c == '"':
			if i-start > maxWireNameLength {
				return nil, false
			}
			d.pos = i + 1
			return d.data[start:i], true
		case c < 0x20, c == '\\', c >= utf8.RuneSelf:
			return nil, false
		}
	}
	return nil, false
}

// stringField fills a string field: a JSON string sets it, null leaves it.
func (d *wireDecoder) stringField(fv reflect.Value) bool {
	if d.pos >= len(d.data) {
		return false
	}
	switch d.data[d.pos] {
	case '"':
		start := d.pos
		plain, ok := d.str()
		if !ok {
			return false
		}
		if plain {
			fv.SetString(string(d.data[start+1 : d.pos-1]))
			return true
		}
		var s string // escapes or non-ASCII: encoding/json's own unquoting
		if json.Unmarshal(d.data[start:d.pos], &s) != nil {
			return false
		}
		fv.SetString(s)
		return true
	case 'n':
		return d.lit("null")
	}
	return false // another kind: encoding/json reports the type error
}

// structSlice fills a slice of structs: an array of objects (null elements
// stay zero) or null, which sets it to nil.
func (d *wireDecoder) structSlice(et *wireType, fv reflect.Value) bool {
	if d.pos >= len(d.data) {
		return false
	}
	if d.data[d.pos] == 'n' {
		if !d.lit("null") {
			return false
		}
		fv.SetZero()
		return true
	}
	if d.data[d.pos] != '[' {
		return false
	}
	d.pos++
	s := reflect.MakeSlice(fv.Type(), 0, 0) // [] is an empty slice, not nil
	d.space()
	if d.pos < len(d.data) && d.data[d.pos] == ']' {
		d.pos++
		fv.Set(s)
		return true
	}
	for {
		d.space()
		if d.pos >= len(d.data) {
			return false
		}
		s = reflect.Append(s, reflect.Zero(fv.Type().Elem()))
		switch d.data[d.pos] {
		case '{':
			if !d.object(et, s.Index(s.Len()-1)) {
				return false
			}
		case 'n':
			if !d.lit("null") {
				return false
			}
		default:
			return false
		}
		d.space()
		if d.pos >= len(d.data) {
			return false
		}
		switch d.data[d.pos] {
		case ',':
			d.pos++
		case ']':
			d.pos++
			fv.Set(s)
			return true
		default:
			return false
		}
	}
}

// skip validates and passes over one value of any kind.
func (d *wireDecoder) skip() bool {
	if d.pos >= len(d.data) {
		return false
	}
	switch c := d.data[d.pos]; {
	case c == '"':
		_, ok := d.str()
		return ok
	case c == '{', c == '[':
		return d.container()
	case c == 't':
		return d.lit("true")
	case c == 'f':
		return d.lit("false")
	case c == 'n':
		return d.lit("null")
	case c == '-' || ('0' <= c && c <= '9'):
		return d.number()
	}
	return false
}

func (d *wireDecoder) container() bool {
	if d.depth++; d.depth > maxWireDepth {
		return false
	}
	defer func() { d.depth-- }()
	closing := byte('}')
	if d.data[d.pos] == '[' {
		closing = ']'
	}
	d.pos++
	d.space()
	if d.pos < len(d.data) && d.data[d.pos] == closing {
		d.pos++
		return true
	}
	for {
		d.space()
		if closing == '}' {
			if d.pos >= len(d.data) || d.data[d.pos] != '"' {
				return false
			}
			if _, ok := d.str(); !ok {
				return false
			}
			d.space()
			if d.pos >= len(d.data) || d.data[d.pos] != ':' {
				return false
			}
			d.pos++
			d.space()
		}
		if !d.skip() {
			return false
		}
		d.space()
		if d.pos >= len(d.data) {
			return false
		}
		switch d.data[d.pos] {
		case ',':
			d.pos++
		case closing:
			d.pos++
			return true
		default:
			return false
		}
	}
}

// str passes over the string at d.pos (its opening quote), validating its
// escapes, and reports whether its value is its bytes as they stand (no
// escape, ASCII only).
func (d *wireDecoder) str() (plain, ok bool) {
	plain = true
	for i := d.pos + 1; i < len(d.data); i++ {
		switch c := d.data[i]; {
		case c == '"':
			d.pos = i + 1
			return plain, true
		case c < 0x20:
			return false, false
		case c >= utf8.RuneSelf:
			plain = false
		case c == '\\':
			plain = false
			i++
			if i >= len(d.data) {
				return false, false
			}
			switch d.data[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if i+4 >= len(d.data) {
					return false, false
				}
				for _, h := range d.data[i+1 : i+5] {
					if !('0' <= h && h <= '9' || 'a' <= h && h <= 'f' || 'A' <= h && h <= 'F') {
						return false, false
					}
				}
				i += 4
			default:
				return false, false
			}
		}
	}
	return false, false
}

func (d *wireDecoder) lit(word string) bool {
	if len(d.data)-d.pos < len(word) || string(d.data[d.pos:d.pos+len(word)]) != word {
		return false
	}
	d.pos += len(word)
	return true
}

// number passes over a JSON number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (d *wireDecoder) number() bool {
	p, n := d.pos, len(d.data)
	digits := func() bool {
		start := p
		for p < n && '0' <= d.data[p] && d.data[p] <= '9' {
			p++
		}
		return p > start
	}
	if p < n && d.data[p] == '-' {
		p++
	}
	switch {
	case p < n && d.data[p] == '0':
		p++
	case !digits():
		return false
	}
	if p < n && d.data[p] == '.' {
		p++
		if !digits() {
			return false
		}
	}
	if p < n && (d.data[p] == 'e' || d.data[p] == 'E') {
		p++
		if p < n && (d.data[p] == '+' || d.data[p] == '-') {
			p++
		}
		if !digits() {
			return false
		}
	}
	d.pos = p
	return true
}
