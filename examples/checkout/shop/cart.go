package shop

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/smartdairy/bkash-go"
)

// Product is something the shop sells.
type Product struct {
	SKU   string
	Name  string
	Note  string
	Price bkash.Amount
	Color string // CSS colour of the product tile
}

// DefaultCatalog is what the demo shop sells. Prices are bkash.Amount values
// (integer poisha): no float is ever used for money.
var DefaultCatalog = []Product{
	{SKU: "milk-1l", Name: "Fresh milk", Note: "1 litre, pasteurised", Price: bkash.Taka(95), Color: "#e8f1fb"},
	{SKU: "doi-500", Name: "Mishti doi", Note: "500 g clay pot", Price: bkash.Taka(160), Color: "#fbefe3"},
	{SKU: "ghee-200", Name: "Cow ghee", Note: "200 g jar", Price: bkash.Taka(420) + bkash.Poisha(50), Color: "#fcf6dc"},
	{SKU: "paneer-250", Name: "Paneer", Note: "250 g block", Price: bkash.Taka(185), Color: "#eef7ea"},
	{SKU: "butter-100", Name: "Butter", Note: "100 g, salted", Price: bkash.Taka(120), Color: "#fff8e1"},
	{SKU: "lassi-250", Name: "Lassi", Note: "250 ml bottle", Price: bkash.Taka(60) + bkash.Poisha(25), Color: "#f3ecf8"},
}

// maxQty bounds one cart line; the cart cookie is client data.
const maxQty = 20

// cartCookie holds the cart as "sku:qty,sku:qty". It is client-side state:
// prices always come from the catalog, never from the cookie.
const cartCookie = "shop_cart"

// Cart is the content of the cart cookie, resolved against the catalog.
type Cart struct {
	Lines []Item
	Total bkash.Amount
	Count int
}

// Empty reports whether the cart has no line.
func (c Cart) Empty() bool { return len(c.Lines) == 0 }

func (s *Shop) product(sku string) (Product, bool) {
	for _, p := range s.catalog {
		if p.SKU == sku {
			return p, true
		}
	}
	return Product{}, false
}

// readCart parses the cart cookie; unknown SKUs and bad quantities are dropped.
func (s *Shop) readCart(r *http.Request) Cart {
	c, err := r.Cookie(cartCookie)
	if err != nil {
		return Cart{}
	}
	return s.parseCart(c.Value)
}

func (s *Shop) parseCart(v string) Cart {
	var cart Cart
	seen := map[string]bool{}
	for part := range strings.SplitSeq(v, ",") {
		sku, qtyText, ok := strings.Cut(part, ":")
		if !ok || seen[sku] {
			continue
		}
		qty, err := strconv.Atoi(qtyText)
		if err != nil || qty < 1 || qty > maxQty {
			continue
		}
		p, ok := s.product(sku)
		if !ok {
			continue
		}
		seen[sku] = true
		it := Item{SKU: p.SKU, Name: p.Name, Qty: qty, UnitPrice: p.Price}
		cart.Lines = append(cart.Lines, it)
		cart.Total += it.LineTotal()
		cart.Count += qty
	}
	return cart
}

// Encode is the cart in its cookie and link form, "sku:qty,sku:qty".
func (c Cart) Encode() string {
	var b strings.Builder
	for i, it := range c.Lines {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(it.SKU)
		b.WriteByte(':')
		b.WriteString(strconv.Itoa(it.Qty))
	}
	return b.String()
}

// add changes the quantity of sku by delta (removing the line at zero).
func (s *Shop) add(c Cart, sku string, delta int) Cart {
	p, ok := s.product(sku)
	if !ok {
		return c
	}
	var out Cart
	found := false
	for _, it := range c.Lines {
		if it.SKU == sku {
			found = true
			it.Qty = min(it.Qty+delta, maxQty)
		}
		if it.Qty > 0 {
			out.Lines = append(out.Lines, it)
		}
	}
	if !found && delta > 0 {
		out.Lines = append(out.Lines, Item{SKU: p.SKU, Name: p.Name, Qty: min(delta, maxQty), UnitPrice: p.Price})
	}
	for _, it := range out.Lines {
		out.Total += it.LineTotal()
		out.Count += it.Qty
	}
	return out
}

func writeCart(w http.ResponseWriter, c Cart) {
	http.SetCookie(w, &http.Cookie{
		Name: cartCookie, Value: c.Encode(), Path: "/",
		HttpOnly: true, SameSite: http.SameSiteLaxMode, MaxAge: 7 * 24 * 3600,
	})
}

func clearCart(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: cartCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteLaxMode})
}
