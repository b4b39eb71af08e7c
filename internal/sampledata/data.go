package sampledata

import (
	"crypto/sha1"
	"strconv"
	"strings"
)

// Time spans in microseconds.
const (
	second = int64(1_000_000)
	minute = 60 * second
	hour   = 60 * minute
	day    = 24 * hour
	// span is the shop's history: customers and orders fall in the seven years after epoch.
	span = 7 * 365 * day
)

// data writes every table's rows. Each table takes its randomness from the one stream in order,
// so changing one table changes the tables after it; that is fine for sample data.
func (g *gen) data() {
	g.categoryRows()
	g.storeRows()
	created := g.customerRows()
	g.addressRows()
	g.productRows()
	g.imageRows()
	g.stockRows()
	g.priceChangeRows()
	coupons := g.couponRows()
	g.orderRows(created, coupons)
	g.reviewRows()
}

func (g *gen) categoryRows() {
	in := g.insert("categories", "id, parent_id, name, slug, description")
	id := 0
	for _, top := range categoryNames {
		id++
		parent := id
		slug := strings.ToLower(top)
		in.row().int(id).null().str(top).str(slug).str("Everything for " + strings.ToLower(top) + ".").end()
		for k := range 4 {
			id++
			sub := subcategoryNames[(parent+k)%len(subcategoryNames)]
			desc := &sub
			if g.rng.chance(30) {
				desc = nil
			}
			in.row().int(id).int(parent).str(top + " › " + sub).
				str(slug + "-" + strings.ToLower(strings.ReplaceAll(sub, " ", "-"))).strOrNull(desc).end()
		}
	}
	g.categories = id
	in.done("categories")
}

func (g *gen) storeRows() {
	in := g.insert("stores", "id, name, city, country_code, location, opened_on, kind")
	for i, c := range cities {
		kind := "store"
		switch {
		case i%7 == 3:
			kind = "warehouse"
		case i%5 == 4:
			kind = "pickup"
		}
		in.row().int(i+1).str("Shop "+c.name).str(c.name).str(c.country).
			point(c.lon+int64(g.rng.between(-2000, 2000)), c.lat+int64(g.rng.between(-2000, 2000))).
			date(g.rng.between(36000, 45000)).str(kind).end()
	}
	g.stores = len(cities)
	in.done("stores")
}

// customerRows returns each customer's creation time, by id.
func (g *gen) customerRows() []int64 {
	r := &g.rng
	g.customers = g.n(25000)
	created := make([]int64, g.customers+1)
	in := g.insert("customers", "id, email, first_name, last_name, phone, birth_date, status, marketing, loyalty_points, preferences, notes, created_at")
	domains := []string{"example.com", "example.org", "example.net", "mail.example", "shop.example"}
	marketing := []string{"email", "sms", "post", "push"}
	for id := 1; id <= g.customers; id++ {
		fn, ln := pick(r, firstNames), pick(r, lastNames)
		in.row().int(id).str(fn.ascii + "." + ln.ascii + strconv.Itoa(id) + "@" + pick(r, domains)).str(fn.display).str(ln.display)
		switch p := r.intn(100); {
		case p < 20:
			in.null()
		case p < 25:
			in.str("")
		default:
			in.str("+" + strconv.Itoa(r.between(1, 99)) + " " + strconv.Itoa(r.between(10, 999)) + " " + strconv.Itoa(r.between(100000, 9999999)))
		}
		if r.chance(25) {
			in.null()
		} else {
			in.date(r.between(14600, 38700)) // 1940 to 2005
		}
		in.str([]string{"active", "suspended", "closed"}[r.tier(92, 97)])
		var set []string
		for _, m := range marketing {
			if r.chance(30) {
				set = append(set, m)
			}
		}
		in.str(strings.Join(set, ","))
		in.int(r.intn(r.intn(8000) + 1))
		switch p := r.intn(100); {
		case p < 30:
			in.null()
		case p < 40:
			in.str("{}")
		default:
			in.str(`{"language":"` + pick(r, languages) + `","newsletter":` + strconv.FormatBool(r.chance(40)) +
				`,"theme":"` + pick(r, []string{"light", "dark", "system"}) + `"}`)
		}
		if r.chance(80) {
			in.str("")
		} else {
			in.str(pick(r, customerNotes))
		}
		created[id] = int64(r.intn(int(span * 6 / 7)))
		in.datetime(created[id]).end()
	}
	in.done("customers")
	return created
}

func (g *gen) addressRows() {
	r := &g.rng
	g.addrOf = make([]int32, g.customers+1)
	in := g.insert("addresses", "id, customer_id, kind, line1, line2, city, postal_code, country_code, location")
	id := 0
	for c := 1; c <= g.customers; c++ {
		n := r.tier(5, 65, 95) // 0 to 3 addresses
		home := pick(r, cities)
		for k := range n {
			id++
			if k == 0 {
				g.addrOf[c] = int32(id)
			}
			kind := "both"
			if n > 1 {
				kind = []string{"billing", "shipping", "shipping"}[k]
			}
			ct := home
			if k == 2 {
				ct = pick(r, cities)
			}
			in.row().int(id).int(c).str(kind).str(pick(r, streets) + " " + strconv.Itoa(r.between(1, 240)))
			switch p := r.intn(100); {
			case p < 50:
				in.null()
			case p < 80:
				in.str("")
			default:
				in.str(pick(r, streetExtras))
			}
			in.str(ct.name).str(g.postalCode(ct)).str(ct.country).
				point(ct.lon+int64(r.between(-60000, 60000)), ct.lat+int64(r.between(-40000, 40000))).end()
		}
	}
	in.done("addresses")
}

func (g *gen) postalCode(c city) string {
	t := c.postalTemplate
	if t == "" {
		t = strings.Repeat("#", c.postalDigits)
	}
	b := make([]byte, len(t))
	for i := 0; i < len(t); i++ {
		switch t[i] {
		case '#':
			b[i] = byte('0' + g.rng.intn(10))
		case '@':
			b[i] = byte('A' + g.rng.intn(26))
		default:
			b[i] = t[i]
		}
	}
	return string(b)
}

func (g *gen) productRows() {
	r := &g.rng
	g.products = g.n(6000)
	g.price = make([]int64, g.products+1)
	in := g.insert("products", "id, sku, category_id, name, description, price, weight_kg, tags, attributes, popularity, is_active, created_at, updated_at")
	tags := []string{"new", "sale", "eco", "bestseller", "limited", "refurbished"}
	for id := 1; id <= g.products; id++ {
		adj, mat, noun := pick(r, adjectives), pick(r, materials), pick(r, nouns)
		name := strings.ToUpper(adj[:1]) + adj[1:] + " " + mat + " " + noun
		if r.chance(20) {
			name += " – " + pick(r, colours)
		}
		if r.chance(3) {
			name += " " + pick(r, emoji)
		}
		sku := strconv.Itoa(id * 7919 % 1_000_000_000)
		sku = "SK-" + strings.Repeat("0", 9-len(sku)) + sku
		g.price[id] = int64(r.between(199, 2999))
		if r.chance(25) {
			g.price[id] = int64(r.between(3000, 49999))
		}
		var desc strings.Builder
		if !r.chance(5) {
			desc.WriteString("A " + adj + " " + noun + " made of " + mat + ".")
			for range r.between(1, 3) {
				desc.WriteString(" " + strings.ReplaceAll(pick(r, reviewSentences[:7]), "%s", noun))
			}
		}
		in.row().int(id).str(sku).int(r.between(1, g.categories)).str(name).str(desc.String()).dec(g.price[id], 2)
		if r.chance(10) {
			in.null()
		} else {
			in.dec(int64(r.between(50, 25000)), 3)
		}
		var set []string
		for _, t := range tags {
			if r.chance(12) {
				set = append(set, t)
			}
		}
		in.str(strings.Join(set, ","))
		in.str(`{"colour":"` + pick(r, colours) + `","size":"` + pick(r, sizes) + `","materials":["` + mat + `","` + pick(r, materials) +
			`"],"dimensions_cm":[` + strconv.Itoa(r.between(5, 120)) + "," + strconv.Itoa(r.between(5, 80)) + "," + strconv.Itoa(r.between(1, 60)) + "]}")
		if r.chance(10) {
			in.float(0)
		} else {
			in.float(r.float() * 1000)
		}
		if r.chance(5) {
			in.int(0)
		} else {
			in.int(1)
		}
		c := int64(r.intn(int(span)))
		in.datetime(c).datetime(c + int64(r.intn(int(90*day)))).end()
	}
	in.done("products")
}

var magic = map[string][]byte{
	"image/png":  []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"),
	"image/jpeg": []byte("\xff\xd8\xff\xe0\x00\x10JFIF\x00"),
	"image/webp": []byte("RIFF\x00\x00\x00\x00WEBPVP8 "),
}

func (g *gen) imageRows() {
	r := &g.rng
	in := g.insert("product_images", "id, product_id, position, mime, alt_text, data, sha1")
	mimes := []string{"image/png", "image/jpeg", "image/webp"}
	id := 0
	buf := make([]byte, 0, 4096)
	for p := 1; p <= g.products; p++ {
		n := r.tier(50, 85) // 0 to 2 images
		for pos := 1; pos <= n; pos++ {
			id++
			mime := pick(r, mimes)
			buf = append(buf[:0], magic[mime]...)
			size := r.between(200, 3000)
			for len(buf) < size {
				v := r.u64()
				if v&7 == 0 { // runs of zero bytes, as real images have
					v = 0
				}
				for k := 0; k < 8 && len(buf) < size; k++ {
					buf = append(buf, byte(v>>(8*k)))
				}
			}
			sum := sha1.Sum(buf)
			in.row().int(id).int(p).int(pos).str(mime)
			if r.chance(40) {
				in.str("")
			} else {
				in.str("Photo " + strconv.Itoa(pos) + " of product " + strconv.Itoa(p))
			}
			in.blob(buf).blob(sum[:]).end()
		}
	}
	in.done("product_images")
}

func (g *gen) stockRows() {
	r := &g.rng
	in := g.insert("stock", "store_id, product_id, quantity, reorder_at, counted_at")
	for p := 1; p <= g.products; p++ {
		n, s := r.between(2, 6), r.intn(g.stores)
		for k := range n {
			store := (s+5*k)%g.stores + 1 // 5 and 24 are coprime: distinct stores
			in.row().int(store).int(p).int(r.between(0, 500))
			if r.chance(30) {
				in.null()
			} else {
				in.int(r.between(5, 50))
			}
			in.datetime(span - int64(r.intn(int(30*day)))).end()
		}
	}
	in.done("stock")
}

func (g *gen) priceChangeRows() {
	r := &g.rng
	in := g.insert("price_changes", "id, product_id, old_price, new_price, changed_at")
	id := 0
	for p := 1; p <= g.products; p++ {
		if !r.chance(25) {
			continue
		}
		old := g.price[p] * int64(r.between(80, 120)) / 100
		at := int64(r.intn(int(span / 2)))
		for range r.between(1, 3) {
			id++
			next := old * int64(r.between(85, 115)) / 100
			if next == old {
				next++
			}
			at += int64(r.intn(int(60 * day)))
			in.row().int(id).int(p).dec(old, 2).dec(next, 2).datetime(at).end()
			old = next
		}
	}
	in.done("price_changes")
}

func (g *gen) couponRows() []string {
	r := &g.rng
	n := g.n(200)
	codes := make([]string, 0, n)
	in := g.insert("coupons", "code, kind, value, valid_from, valid_until, uses_left")
	words := []string{"SPRING", "SUMMER", "AUTUMN", "WINTER", "WELCOME", "LOYAL", "FLASH", "FREESHIP"}
	for i := 1; i <= n; i++ {
		code := pick(r, words) + strconv.Itoa(1000+i)
		codes = append(codes, code)
		kind := pick(r, []string{"percent", "amount", "shipping"})
		val := int64(r.between(5, 30)) * 100
		if kind == "shipping" {
			val = 495
		}
		from := 43465 + r.intn(2400) // 2019-01-01 onwards, days after 1900-01-01
		in.row().str(code).str(kind).dec(val, 2).date(from)
		if r.chance(20) {
			in.null()
		} else {
			in.date(from + r.between(7, 90))
		}
		if r.chance(50) {
			in.null()
		} else {
			in.int(r.between(0, 1000))
		}
		in.end()
	}
	in.done("coupons")
	return codes
}

func (g *gen) orderRows(created []int64, coupons []string) {
	r := &g.rng
	g.orders = g.n(70000)
	orders := g.insert("orders", "id, customer_id, shipping_address_id, pickup_store_id, status, placed_at, shipped_at, currency, coupon_code, subtotal, shipping, tax, total, note")
	items := g.insert("order_items", "order_id, line_no, product_id, quantity, unit_price, discount_pct, line_total")
	payments := g.insert("payments", "id, order_id, invoice_no, method, amount, paid_at, provider_ref, details")
	statuses := []string{"pending", "paid", "shipped", "delivered", "delivered", "delivered", "delivered", "delivered", "cancelled", "refunded"}
	currencies := []string{"EUR", "EUR", "EUR", "EUR", "EUR", "EUR", "EUR", "EUR", "GBP", "USD"}
	payID := 0
	for id := 1; id <= g.orders; id++ {
		c := r.between(1, g.customers)
		placed := created[c] + int64(r.intn(int(span-created[c])))
		var subtotal int64
		lines := r.between(1, 3)
		if r.chance(30) {
			lines += r.between(1, 4)
		}
		for line := 1; line <= lines; line++ {
			p := r.between(1, g.products)
			qty := int64(r.between(1, 3))
			if r.chance(3) {
				qty = int64(r.between(10, 50))
			}
			disc := int64(0)
			if r.chance(15) {
				disc = int64(pick(r, []int{5, 10, 15, 25, 50}))
			}
			total := (qty*g.price[p]*(100-disc) + 50) / 100 // ROUND(..., 2), as the trigger computes it
			subtotal += total
			items.row().int(id).int(line).int(p).int(int(qty)).dec(g.price[p], 2).int(int(disc)).dec(total, 2).end()
		}
		status := pick(r, statuses)
		pickup := r.chance(8)
		shipping := int64(0)
		if !pickup && subtotal < 5000 {
			shipping = 495
		}
		tax := (subtotal*19 + 50) / 100
		total := subtotal + shipping + tax
		orders.row().int(id).int(c)
		if a := g.addrOf[c]; a == 0 || pickup {
			orders.null()
		} else {
			orders.int(int(a))
		}
		if pickup {
			orders.int(r.between(1, g.stores))
		} else {
			orders.null()
		}
		orders.str(status).datetime(placed)
		switch status {
		case "shipped", "delivered", "refunded":
			orders.datetime(placed + int64(r.intn(int(5*day))) + hour)
		default:
			orders.null()
		}
		orders.str(pick(r, currencies))
		if r.chance(10) {
			orders.str(pick(r, coupons))
		} else {
			orders.null()
		}
		orders.dec(subtotal, 2).dec(shipping, 2).dec(tax, 2).dec(total, 2)
		if r.chance(85) {
			orders.str("")
		} else {
			orders.str(pick(r, orderNotes))
		}
		orders.end()
		if status == "pending" || status == "cancelled" {
			continue
		}
		paid := placed + int64(r.intn(int(30*minute)))
		pay := func(method string, amount int64, at int64, invoice bool) {
			payID++
			payments.row().int(payID).int(id)
			if invoice {
				g.invoices++
				payments.int(100000 + g.invoices)
			} else {
				payments.null()
			}
			payments.str(method).dec(amount, 2).datetime(at)
			switch method {
			case "card":
				payments.str("pi_" + g.token(24)).str(`{"brand":"` + pick(r, cardBrands) + `","last4":"` + strconv.Itoa(r.between(1000, 9999)) +
					`","3ds":` + strconv.FormatBool(r.chance(70)) + "}")
			case "paypal":
				payments.str("PAYID-" + g.token(20)).str(`{"payer_country":"` + pick(r, cities).country + `"}`)
			case "gift_card":
				payments.str("GC-" + g.token(12)).null()
			default:
				payments.null().null()
			}
			payments.end()
		}
		method := pick(r, []string{"card", "card", "card", "paypal", "paypal", "bank_transfer", "cash"})
		if r.chance(8) && total > 2000 {
			gift := int64(r.between(1, 4)) * 500
			pay("gift_card", gift, paid, true)
			pay(method, total-gift, paid+second, true)
		} else {
			pay(method, total, paid, true)
		}
		if status == "refunded" {
			pay(method, -total, paid+int64(r.between(3, 40))*day, false)
		}
	}
	items.done("order_items")
	orders.done("orders")
	payments.done("payments")
}

// token is n random characters from [0-9A-Za-z].
func (g *gen) token(n int) string {
	const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[g.rng.intn(len(alphabet))]
	}
	return string(b)
}

func (g *gen) reviewRows() {
	r := &g.rng
	in := g.insert("reviews", "id, product_id, customer_id, rating, title, body, created_at, helpful_votes")
	n := g.n(30000)
	for id := 1; id <= n; id++ {
		in.row().int(id).int(r.between(1, g.products))
		if r.chance(3) {
			in.null()
		} else {
			in.int(r.between(1, g.customers))
		}
		in.int(1 + r.tier(10, 18, 30, 55)) // the rating, 1 to 5
		switch {
		case r.chance(5):
			in.str("")
		case r.chance(15):
			in.str(pick(r, reviewOpeners) + " " + pick(r, emoji))
		default:
			in.str(pick(r, reviewOpeners))
		}
		switch p := r.intn(100); {
		case p < 10:
			in.null()
		case p < 15:
			in.str("")
		default:
			var b strings.Builder
			noun := pick(r, nouns)
			for k := range r.between(1, 4) {
				if k > 0 {
					b.WriteByte(' ')
				}
				b.WriteString(strings.ReplaceAll(pick(r, reviewSentences), "%s", noun))
			}
			if r.chance(15) {
				b.WriteString(" " + pick(r, emoji))
			}
			in.str(b.String())
		}
		in.datetime(int64(r.intn(int(span)))).int(r.intn(r.intn(50) + 1)).end()
	}
	in.done("reviews")
}
