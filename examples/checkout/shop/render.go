package shop

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // Asia/Dhaka without the system's zoneinfo

	"github.com/smartdairy/bkash-go"
)

//go:embed templates/*.html
var templateFS embed.FS

// pages holds one parsed template per page, each with the shared layout.
type pages map[string]*template.Template

var funcs = template.FuncMap{
	// tk renders an amount for people: "Tk 1,250.50".
	"tk":    func(a bkash.Amount) string { return "Tk " + groupThousands(a.String()) },
	"when":  when,
	"ms":    func(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) },
	"lower": strings.ToLower,
	"slug":  func(v any) string { return strings.ReplaceAll(strings.ToLower(fmt.Sprint(v)), " ", "-") },
}

// dhaka is the shop's time zone: every time is shown in Asia/Dhaka
// (UTC+6, no daylight saving), whatever the server's zone. time/tzdata is
// linked in so that a container without zoneinfo shows it too.
var dhaka = func() *time.Location {
	if loc, err := time.LoadLocation("Asia/Dhaka"); err == nil {
		return loc
	}
	return time.FixedZone("+06", 6*3600)
}()

// when renders a time for people, in Dhaka: "5 Dec 2026, 3:04:05 pm (Dhaka)".
func when(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(dhaka).Format("2 Jan 2006, 3:04:05 pm") + " (Dhaka)"
}

// groupThousands turns "1250.50" into "1,250.50".
func groupThousands(s string) string {
	whole, frac, _ := strings.Cut(s, ".")
	neg := strings.HasPrefix(whole, "-")
	whole = strings.TrimPrefix(whole, "-")
	var b strings.Builder
	for i, c := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	out := b.String() + "." + frac
	if neg {
		return "-" + out
	}
	return out
}

func loadPages() (pages, error) {
	layout, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html")
	if err != nil {
		return nil, fmt.Errorf("shop: templates: %w", err)
	}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	p := pages{}
	for _, n := range names {
		name := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if name == "layout" {
			continue
		}
		t, err := template.Must(layout.Clone()).ParseFS(templateFS, n)
		if err != nil {
			return nil, fmt.Errorf("shop: templates: %w", err)
		}
		p[name] = t
	}
	return p, nil
}

// view is what every page template receives.
type view struct {
	Title     string
	Nav       string // which menu entry is current
	Banner    string
	Sandbox   bool
	CartCount int
	Error     string // shown in red at the top
	Flash     string // shown in green at the top
	Refresh   bool   // reload every 2 s (an order being confirmed)
	Page      any    // the page's own data
}

// render writes page with status. The page is rendered to a buffer first so
// that a template error becomes a clean 500.
func (s *Shop) render(w http.ResponseWriter, r *http.Request, status int, name string, v view) {
	t, ok := s.pages[name]
	if !ok {
		http.Error(w, "no page "+name, http.StatusInternalServerError)
		return
	}
	v.Banner, v.Sandbox = s.banner, s.sandbox
	v.CartCount = s.readCart(r).Count
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout.html", v); err != nil {
		s.log.Error("render", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// fail renders the error page.
func (s *Shop) fail(w http.ResponseWriter, r *http.Request, status int, msg string) {
	s.render(w, r, status, "error", view{Title: http.StatusText(status), Error: msg})
}
