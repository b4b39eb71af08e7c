package sampledata

// name is a display name and the ASCII form used in e-mail addresses.
type name struct{ display, ascii string }

var firstNames = []name{
	{"Anna", "anna"}, {"Ben", "ben"}, {"Chloé", "chloe"}, {"David", "david"}, {"Emma", "emma"},
	{"François", "francois"}, {"Greta", "greta"}, {"Hannah", "hannah"}, {"Ivan", "ivan"},
	{"José", "jose"}, {"Karin", "karin"}, {"Łukasz", "lukasz"}, {"María", "maria"}, {"Noah", "noah"},
	{"Olivia", "olivia"}, {"Pål", "pal"}, {"Quentin", "quentin"}, {"Renée", "renee"}, {"Søren", "soren"},
	{"Tomás", "tomas"}, {"Ursula", "ursula"}, {"Vera", "vera"}, {"William", "william"}, {"Xavier", "xavier"},
	{"Yasmin", "yasmin"}, {"Zoë", "zoe"}, {"Ægir", "aegir"}, {"Ольга", "olga"}, {"Дмитрий", "dmitri"},
	{"美咲", "misaki"}, {"翔太", "shota"}, {"محمد", "mohammed"}, {"فاطمة", "fatima"}, {"Αλέξανδρος", "alexandros"},
	{"Nguyễn", "nguyen"}, {"Siobhán", "siobhan"}, {"Björn", "bjorn"}, {"İlkay", "ilkay"}, {"Priya", "priya"},
	{"Oluwaseun", "oluwaseun"}, {"Mia", "mia"}, {"Lucas", "lucas"}, {"Sofia", "sofia"}, {"Leon", "leon"},
}

var lastNames = []name{
	{"Müller", "mueller"}, {"Schmidt", "schmidt"}, {"O'Brien", "obrien"}, {"García", "garcia"},
	{"Smith", "smith"}, {"Johnson", "johnson"}, {"Kowalski", "kowalski"}, {"Dubois", "dubois"},
	{"Rossi", "rossi"}, {"Jensen", "jensen"}, {"Novák", "novak"}, {"Fernández", "fernandez"},
	{"Nakamura", "nakamura"}, {"田中", "tanaka"}, {"𠮷田", "yoshida"}, {"Иванова", "ivanova"},
	{"Papadopoulos", "papadopoulos"}, {"Ødegård", "odegard"}, {"van der Berg", "vanderberg"},
	{"D'Angelo", "dangelo"}, {"Øster", "oster"}, {"Yılmaz", "yilmaz"}, {"Al-Sayed", "alsayed"},
	{"Okafor", "okafor"}, {"Patel", "patel"}, {"Wang", "wang"}, {"Li", "li"}, {"Kim", "kim"},
	{"Brown", "brown"}, {"Weiß", "weiss"}, {"Lefèvre", "lefevre"}, {"Čapek", "capek"},
}

// city is a city with its centre in millionths of a degree.
type city struct {
	name, country  string
	lon, lat       int64
	postalDigits   int
	postalTemplate string // "" means postalDigits digits
}

var cities = []city{
	{"Berlin", "DE", 13404954, 52520008, 5, ""}, {"München", "DE", 11581981, 48135125, 5, ""},
	{"Hamburg", "DE", 9993682, 53551085, 5, ""}, {"Köln", "DE", 6960279, 50937531, 5, ""},
	{"Wien", "AT", 16373819, 48208174, 4, ""}, {"Zürich", "CH", 8541694, 47376887, 4, ""},
	{"Paris", "FR", 2352222, 48856614, 5, ""}, {"Lyon", "FR", 4835659, 45764043, 5, ""},
	{"Amsterdam", "NL", 4904139, 52367573, 0, "#### @@"}, {"København", "DK", 12568337, 55676097, 4, ""},
	{"Kraków", "PL", 19944980, 50064650, 0, "##-###"}, {"Praha", "CZ", 14437800, 50075538, 0, "### ##"},
	{"Madrid", "ES", -3703790, 40416775, 5, ""}, {"Lisboa", "PT", -9139337, 38722252, 0, "####-###"},
	{"Milano", "IT", 9189982, 45464204, 5, ""}, {"London", "GB", -127758, 51507351, 0, "@# #@@"},
	{"Dublin", "IE", -6260310, 53349805, 0, "D## @###"}, {"Oslo", "NO", 10752245, 59913869, 4, ""},
	{"Stockholm", "SE", 18068581, 59329323, 0, "### ##"}, {"Helsinki", "FI", 24938379, 60169856, 5, ""},
	{"Αθήνα", "GR", 23727539, 37983810, 0, "### ##"}, {"İstanbul", "TR", 28978359, 41008238, 5, ""},
	{"東京", "JP", 139691706, 35689487, 0, "###-####"}, {"New York", "US", -74005941, 40712784, 5, ""},
}

var streets = []string{
	"Hauptstraße", "Bahnhofstraße", "Rue de la Paix", "Main Street", "High Street", "Calle Mayor",
	"Via Roma", "Kerkstraat", "Storgatan", "ul. Długa", "Schillerstraße", "Avenida da Liberdade",
	"Church Road", "Lindenallee", "Gartenweg", "Rue Victor Hugo", "Mühlenweg", "Odos Ermou",
}

var streetExtras = []string{"Apt. 4", "2nd floor", "c/o Hausverwaltung", "Hinterhaus", "Suite 210", "Bâtiment B", "Flat 3\\2"}

var adjectives = []string{
	"classic", "compact", "deluxe", "ergonomic", "foldable", "handmade", "lightweight", "modular",
	"organic", "portable", "premium", "recycled", "rugged", "slim", "smart", "vintage", "waterproof",
	"wireless", "cozy", "sturdy",
}

var materials = []string{
	"bamboo", "cotton", "leather", "linen", "oak", "walnut", "steel", "aluminium", "ceramic", "glass",
	"wool", "silicone", "cork", "copper", "porcelain",
}

var nouns = []string{
	"backpack", "lamp", "mug", "chair", "desk", "kettle", "blanket", "headphones", "notebook", "bottle",
	"jacket", "sneakers", "teapot", "shelf", "keyboard", "speaker", "umbrella", "wallet", "pan", "knife",
	"scarf", "cushion", "clock", "tent", "bicycle bell",
}

var colours = []string{"black", "white", "red", "navy", "olive", "sand", "grey", "teal", "mustard", "rosé"}

var sizes = []string{"XS", "S", "M", "L", "XL", "one size"}

var categoryNames = []string{
	"Home", "Kitchen", "Outdoor", "Fashion", "Electronics", "Office", "Sports", "Garden", "Kids",
	"Beauty", "Books", "Travel",
}

var subcategoryNames = []string{
	"Essentials", "Accessories", "Gifts", "Bestsellers", "Outlet", "Eco line", "Premium", "Basics",
}

var reviewOpeners = []string{
	"Great", "Solid", "Disappointing", "Exactly as described", "Better than expected", "Not bad",
	"Terrible", "Love it", "Okay for the price", "Five stars", "Meh", "Superb quality",
}

var reviewSentences = []string{
	"Arrived quickly and well packed.",
	"The %s feels cheaper than in the photos.",
	"I have used it every day for a month and it still looks new.",
	"Customer service replied within a day when I asked about the %s.",
	"The colour is slightly different from the picture.",
	"Would buy again, already ordered a second one for my sister.",
	"It broke after two weeks; the %s part is too thin.",
	"Sehr gute Qualität, schnelle Lieferung.",
	"Très bon produit, je recommande !",
	"Muy cómodo y fácil de limpiar.",
	"値段の割にとても良いです。",
	"Отличное качество, рекомендую.",
	"Fits perfectly in my small flat.",
	"The instructions were only in Swedish, but the pictures helped.",
	"Smells a bit of plastic at first, that goes away.",
	"Paid 20% less during the sale \\o/ — worth it.",
	"My kids love the %s, it survived a summer of camping.",
	"Heavier than I thought: check the weight before ordering.",
}

var emoji = []string{"👍", "🎉", "⭐⭐⭐⭐⭐", "😀", "😡", "🙈", "❤️", "🔥", "👌🏽", "🍕", "🚚💨", "𝄞"}

var customerNotes = []string{
	"Prefers delivery after 6 pm.", "VIP — handle with care ✨", "Asked to be called, not e-mailed.",
	"Leave parcels with the neighbour (O'Neill, No. 12).", "Wholesale customer; invoice monthly.",
	"Tab\tseparated\tnote", "Line one\nline two", `Path C:\Users\shop`, "Gift orders: no prices on the slip 🎁",
}

var orderNotes = []string{
	"Please ring twice.", "Gift wrap, please 🎁", "Leave at the door", "Bitte beim Nachbarn abgeben",
	"Deliver to reception", "No plastic packaging please", "Call before delivery: +49 30 1234567",
}

var languages = []string{"en", "de", "fr", "es", "it", "nl", "pl", "ja", "ru", "ar"}

var cardBrands = []string{"visa", "mastercard", "amex", "maestro"}
