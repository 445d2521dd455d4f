package perf_test

import (
	"strconv"
	"testing"
	"time"

	bkash "github.com/smartdairy/bkash-go"
)

// Amount and Time against the standard library reading and writing the
// same text, in the same run. The Amount baseline is strconv's float
// parsing and formatting of the same decimal text (what the SDK replaces,
// and never uses for money); the Time baseline is time.Parse and
// Time.Format with a layout for the same timestamp written with a dot
// before the milliseconds, which the standard library understands.

const (
	benchAmountText = "1250.50"
	benchAmountJSON = `"1250.50"`
	benchTimeText   = "2025-01-01T12:30:00:456 GMT+0600" // bKash's form
	benchTimeStd    = "2025-01-01T12:30:00.456 GMT+0600" // the same, with a dot
	benchTimeLayout = "2006-01-02T15:04:05.000 GMT-0700"
	benchTimeJSON   = `"` + benchTimeText + `"`
	benchTimeWebhk  = "20250101123000" // webhook form, Asia/Dhaka
)

var (
	sinkAmount bkash.Amount
	sinkFloat  float64
	sinkString string
	sinkTime   time.Time
	sinkBTime  bkash.Time
)

func BenchmarkAmount(b *testing.B) {
	b.Run("op=parse/impl=strconv", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			f, err := strconv.ParseFloat(benchAmountText, 64)
			if err != nil {
				b.Fatal(err)
			}
			sinkFloat = f
		}
	})
	b.Run("op=parse/impl=sdk", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			a, err := bkash.ParseAmount(benchAmountText)
			if err != nil {
				b.Fatal(err)
			}
			sinkAmount = a
		}
	})
	b.Run("op=format/impl=strconv", func(b *testing.B) {
		f := 1250.50
		b.ReportAllocs()
		for b.Loop() {
			sinkString = strconv.FormatFloat(f, 'f', 2, 64)
		}
	})
	b.Run("op=format/impl=sdk", func(b *testing.B) {
		a := bkash.Poisha(125050)
		b.ReportAllocs()
		for b.Loop() {
			sinkString = a.String()
		}
	})
	// unmarshal is the form decoders meet: a quoted JSON string.
	b.Run("op=unmarshal/impl=strconv", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			s, err := strconv.Unquote(benchAmountJSON)
			if err != nil {
				b.Fatal(err)
			}
			if sinkFloat, err = strconv.ParseFloat(s, 64); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("op=unmarshal/impl=sdk", func(b *testing.B) {
		data := []byte(benchAmountJSON)
		b.ReportAllocs()
		for b.Loop() {
			if err := sinkAmount.UnmarshalJSON(data); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkTime(b *testing.B) {
	b.Run("op=parse/impl=time", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			t, err := time.Parse(benchTimeLayout, benchTimeStd)
			if err != nil {
				b.Fatal(err)
			}
			sinkTime = t
		}
	})
	b.Run("op=parse/impl=sdk", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			t, err := bkash.ParseTime(benchTimeText)
			if err != nil {
				b.Fatal(err)
			}
			sinkBTime = t
		}
	})
	b.Run("op=parsewebhook/impl=time", func(b *testing.B) {
		dhaka := time.FixedZone("Asia/Dhaka", 6*3600)
		b.ReportAllocs()
		for b.Loop() {
			t, err := time.ParseInLocation("20060102150405", benchTimeWebhk, dhaka)
			if err != nil {
				b.Fatal(err)
			}
			sinkTime = t
		}
	})
	b.Run("op=parsewebhook/impl=sdk", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			t, err := bkash.ParseTime(benchTimeWebhk)
			if err != nil {
				b.Fatal(err)
			}
			sinkBTime = t
		}
	})
	t, err := time.Parse(benchTimeLayout, benchTimeStd)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("op=format/impl=time", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			sinkString = t.Format(benchTimeLayout)
		}
	})
	b.Run("op=format/impl=sdk", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			sinkString = bkash.FormatTime(t)
		}
	})
	b.Run("op=unmarshal/impl=time", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			s, err := strconv.Unquote(`"` + benchTimeStd + `"`)
			if err != nil {
				b.Fatal(err)
			}
			if sinkTime, err = time.Parse(benchTimeLayout, s); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("op=unmarshal/impl=sdk", func(b *testing.B) {
		data := []byte(benchTimeJSON)
		b.ReportAllocs()
		for b.Loop() {
			if err := sinkBTime.UnmarshalJSON(data); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestBenchValuesAgree keeps the value benchmarks honest: the SDK and the
// baseline read and write the same instant and amount.
func TestBenchValuesAgree(t *testing.T) {
	t.Parallel()
	std, err := time.Parse(benchTimeLayout, benchTimeStd)
	if err != nil {
		t.Fatal(err)
	}
	got, err := bkash.ParseTime(benchTimeText)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Equal(std) {
		t.Errorf("ParseTime(%q) = %v, time.Parse gives %v", benchTimeText, got.Time, std)
	}
	if s := bkash.FormatTime(std); s != benchTimeText {
		t.Errorf("FormatTime = %q, want %q", s, benchTimeText)
	}
	a, err := bkash.ParseAmount(benchAmountText)
	if err != nil || a != bkash.Poisha(125050) {
		t.Errorf("ParseAmount(%q) = %v, %v; want 125050 poisha", benchAmountText, int64(a), err)
	}
	if s := strconv.FormatFloat(1250.50, 'f', 2, 64); s != a.String() {
		t.Errorf("Amount.String = %q, strconv gives %q", a.String(), s)
	}
}
