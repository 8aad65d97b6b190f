"""The demo's data: the company, its three sites and admins, the catalogue, site users,
shipping methods and the knobs of the generated orders (seeded by demo.py)."""
from __future__ import annotations

from decimal import Decimal

DEMO_PASSWORD = "demo-pass-2026"
LOGIN_EMAIL = "admin@demo.test"
COMPANY = {"slug": "northwind-print", "name": "Northwind Print Co."}

SITES = (
    {"slug": "northwind-b2b", "name": "Northwind B2B Portal", "domain": "b2b.northwind-print.test",
     "currency": "USD", "time_zone": "America/Chicago"},
    {"slug": "city-council", "name": "City Council Print Room", "domain": "print.citycouncil.test",
     "currency": "USD", "time_zone": "America/New_York"},
    {"slug": "promo-shop", "name": "Northwind Promo Shop", "domain": "promo.northwind-print.test",
     "currency": "EUR", "time_zone": "Europe/Berlin"},
)

# email, name, super-admin, site slugs
ADMINS = (
    (LOGIN_EMAIL, "Demo Admin", True, ()),
    ("ops@demo.test", "Olivia Ops", False, ("northwind-b2b", "city-council")),
    ("promo@demo.test", "Pablo Promo", False, ("promo-shop",)),
)

# site → top category → sub-category → products (SKU, name, unit price, active)
CATALOG = {
    "northwind-b2b": {
        "Business Stationery": {
            "Business Cards": [("NW-BC-STD", "Business Cards – Standard 350gsm", "0.09", True),
                               ("NW-BC-PREM", "Business Cards – Soft-touch Premium", "0.18", True),
                               ("NW-BC-FOIL", "Business Cards – Gold Foil", "0.32", False)],
            "Letterheads": [("NW-LH-A4", "Letterhead A4 120gsm", "0.21", True),
                            ("NW-LH-LTR", "Letterhead US Letter 70lb", "0.22", True)],
            "Envelopes": [("NW-ENV-DL", "DL Window Envelopes", "0.14", True),
                          ("NW-ENV-C4", "C4 Envelopes, Printed", "0.41", False)],
        },
        "Marketing": {
            "Flyers": [("NW-FLY-A5", "Flyers A5 Gloss 150gsm", "0.07", True),
                       ("NW-FLY-A4", "Flyers A4 Silk 170gsm", "0.12", True),
                       ("NW-FLY-DL", "DL Rack Cards", "0.06", True)],
            "Brochures": [("NW-BRO-TRI", "Tri-fold Brochure A4", "0.38", True),
                          ("NW-BRO-8PP", "8-page Saddle-stitched Brochure", "1.45", True),
                          ("NW-BRO-16PP", "16-page Product Catalogue", "2.90", False)],
            "Postcards": [("NW-PC-A6", "Postcards A6 400gsm", "0.11", True)],
        },
        "Large Format": {
            "Banners": [("NW-BAN-PVC", "PVC Banner 3 × 1 m", "48.00", True),
                        ("NW-BAN-MESH", "Mesh Banner 4 × 2 m", "96.00", True),
                        ("NW-BAN-RU", "Roll-up Banner 85 × 200 cm", "79.00", True)],
            "Posters": [("NW-POS-A2", "Poster A2 Satin", "6.50", True),
                        ("NW-POS-A1", "Poster A1 Satin", "9.80", True),
                        ("NW-POS-A0", "Poster A0 Backlit Film", "24.00", False)],
            "Signs": [("NW-SGN-FOAM", "Foamex Sign A1 5 mm", "22.00", True),
                      ("NW-SGN-ACM", "Aluminium Composite Sign 600 × 900", "58.00", True)],
        },
    },
    "city-council": {
        "Stationery": {
            "Letterheads": [("CC-LH-A4", "Council Letterhead A4", "0.19", True),
                            ("CC-COMP-DL", "Compliment Slips DL", "0.08", True)],
            "Business Cards": [("CC-BC-STD", "Staff Business Cards", "0.10", True)],
            "Envelopes": [("CC-ENV-DL", "DL Envelopes, Franked", "0.16", True)],
        },
        "Forms": {
            "NCR Pads": [("CC-NCR-2P", "NCR Pads 2-part A5, numbered", "6.40", True),
                         ("CC-NCR-3P", "NCR Pads 3-part A4, numbered", "11.20", True)],
            "Permits": [("CC-PRM-PARK", "Resident Parking Permits", "0.35", True),
                        ("CC-PRM-BIN", "Bin Collection Stickers", "0.05", False)],
        },
        "Public Information": {
            "Leaflets": [("CC-LFT-A5", "Public Notice Leaflet A5", "0.06", True),
                         ("CC-LFT-DL", "Recycling Guide DL, folded", "0.09", True)],
            "Posters": [("CC-POS-A3", "Event Poster A3", "1.90", True),
                        ("CC-POS-A1", "Consultation Poster A1", "8.40", True)],
        },
        "Signage": {
            "Site Signs": [("CC-SGN-COR", "Correx Site Sign 600 × 400", "12.00", True),
                           ("CC-SGN-ROAD", "Road Works Notice Sign", "19.50", False)],
            "Banners": [("CC-BAN-EVT", "Event Banner 3 × 1 m", "45.00", True),
                        ("CC-BAN-FLAG", "Feather Flag 2.8 m", "68.00", True)],
        },
    },
    "promo-shop": {
        "Promotional": {
            "Apparel": [("PR-TSH-ORG", "Organic Cotton T-shirt, 1-colour print", "7.90", True),
                        ("PR-HOOD", "Hoodie, Embroidered Logo", "24.50", True),
                        ("PR-CAP", "Baseball Cap, Embroidered", "6.80", True),
                        ("PR-TOTE", "Cotton Tote Bag", "2.95", True)],
            "Drinkware": [("PR-MUG-CER", "Ceramic Mug 330 ml", "3.40", True),
                          ("PR-MUG-ENA", "Enamel Camping Mug", "5.60", False),
                          ("PR-BTL-STL", "Steel Water Bottle 500 ml", "8.90", True),
                          ("PR-CUP-RE", "Reusable Coffee Cup 340 ml", "4.70", True)],
            "Writing": [("PR-PEN-BALL", "Ballpoint Pen, Printed", "0.45", True),
                        ("PR-PEN-BAMB", "Bamboo Pen, Engraved", "0.85", True),
                        ("PR-NB-A5", "A5 Notebook, Debossed", "4.20", True),
                        ("PR-NP-A6", "A6 Notepad, 50 sheets", "0.95", True)],
            "Tech": [("PR-USB-16", "USB Stick 16 GB", "5.10", True),
                     ("PR-PWR-5K", "Power Bank 5000 mAh", "11.90", False),
                     ("PR-CBL-3IN1", "3-in-1 Charging Cable", "3.20", True)],
        },
        "Marketing": {
            "Stickers": [("PR-STK-CIR", "Circle Stickers 50 mm", "0.07", True),
                         ("PR-STK-SHT", "Sticker Sheets A5", "0.60", True)],
            "Flyers": [("PR-FLY-A6", "Promo Flyers A6", "0.05", True)],
        },
        "Events": {
            "Lanyards & Badges": [("PR-LAN-20", "Printed Lanyard 20 mm", "0.90", True),
                                  ("PR-BADGE", "Name Badges with Clip", "1.30", True)],
            "Displays": [("PR-TBL-CLOTH", "Printed Table Cloth", "89.00", True),
                         ("PR-POPUP-3X3", "Pop-up Display 3 × 3", "310.00", False)],
        },
    },
}

# site → customers: email, first, last, company, phone, (street, city, state, postal code, country)
USERS = {
    "northwind-b2b": [
        ("anna.baker@contoso.test", "Anna", "Baker", "Contoso Ltd", "312-555-0101",
         ("200 W Madison St", "Chicago", "IL", "60606", "US")),
        ("ben.carter@fabrikam.test", "Ben", "Carter", "Fabrikam Inc", "414-555-0102",
         ("411 E Wisconsin Ave", "Milwaukee", "WI", "53202", "US")),
        ("chloe.diaz@tailspin.test", "Chloe", "Diaz", "Tailspin Toys", "612-555-0103",
         ("80 S 8th St", "Minneapolis", "MN", "55402", "US")),
        ("dev.patel@litware.test", "Dev", "Patel", "Litware LLC", "317-555-0104",
         ("1 Monument Cir", "Indianapolis", "IN", "46204", "US")),
        ("emma.fischer@adventure.test", "Emma", "Fischer", "Adventure Works", "216-555-0105",
         ("1300 E 9th St", "Cleveland", "OH", "44114", "US")),
        ("frank.green@proseware.test", "Frank", "Green", "Proseware", "313-555-0106",
         ("500 Woodward Ave", "Detroit", "MI", "48226", "US")),
    ],
    "city-council": [
        ("clerk@citycouncil.test", "Grace", "Hill", "City Council – Clerk's Office", "617-555-0201",
         ("1 City Hall Sq", "Boston", "MA", "02201", "US")),
        ("parks@citycouncil.test", "Hugo", "Ibarra", "Parks & Recreation", "617-555-0202",
         ("1010 Massachusetts Ave", "Boston", "MA", "02118", "US")),
        ("waste@citycouncil.test", "Iris", "Jensen", "Waste & Recycling", "617-555-0203",
         ("400 Frontage Rd", "Boston", "MA", "02118", "US")),
        ("events@citycouncil.test", "Jack", "Kim", "Events Team", "617-555-0204",
         ("26 Court St", "Boston", "MA", "02108", "US")),
        ("planning@citycouncil.test", "Kara", "Lopez", "Planning Department", "617-555-0205",
         ("43 Hawkins St", "Boston", "MA", "02114", "US")),
    ],
    "promo-shop": [
        ("lena.mueller@beispiel.test", "Lena", "Müller", "Beispiel GmbH", "+49 30 5550101",
         ("Friedrichstraße 68", "Berlin", "", "10117", "DE")),
        ("marc.dubois@exemple.test", "Marc", "Dubois", "Exemple SARL", "+33 1 55500102",
         ("12 Rue de Rivoli", "Paris", "", "75004", "FR")),
        ("noor.devries@voorbeeld.test", "Noor", "de Vries", "Voorbeeld BV", "+31 20 5550103",
         ("Damrak 70", "Amsterdam", "", "1012 LM", "NL")),
        ("olga.rossi@esempio.test", "Olga", "Rossi", "Esempio Srl", "+39 02 5550104",
         ("Via Dante 12", "Milano", "MI", "20121", "IT")),
        ("paul.weber@beispiel.test", "Paul", "Weber", "Beispiel GmbH", "+49 89 5550105",
         ("Marienplatz 8", "München", "BY", "80331", "DE")),
        ("quinn.obrien@sampla.test", "Quinn", "O'Brien", "Sampla Teo", "+353 1 5550106",
         ("12 Grafton St", "Dublin", "", "D02 X285", "IE")),
        ("rosa.garcia@ejemplo.test", "Rosa", "García", "Ejemplo SL", "+34 91 5550107",
         ("Calle de Alcalá 45", "Madrid", "", "28014", "ES")),
    ],
}

# name, carrier, integrated (live carrier rates), Integration ID
SHIPPING_METHODS = (
    ("UPS Ground", "UPS", True, "ups_ground"),
    ("FedEx 2Day", "FedEx", True, "fedex_2day"),
    ("Local Pickup", "", False, ""),
    ("Courier", "Metro Couriers", False, "COURIER-SAMEDAY"),
)
SHIPPING_PRICE = {"UPS Ground": Decimal("12.50"), "FedEx 2Day": Decimal("24.90"),
                  "Local Pickup": Decimal("0"), "Courier": Decimal("18.00")}
TAX_RATE = {"USD": Decimal("0.08"), "EUR": Decimal("0.19")}
# Realistic run lengths: one banner, a few signs, boxes of mugs, thousands of flyers.
QUANTITY_TIERS = ((Decimal(50), (1, 1, 2)), (Decimal(5), (2, 5, 10, 20)), (Decimal(1), (25, 50, 100, 200)),
                  (Decimal(0), (100, 250, 500, 1000, 2500)))

ORDER_COUNT, FIRST_ORDER_NUMBER, ORDER_SPREAD_DAYS = 40, 10001, 20
# More unpaid orders on the sites the demo accounts are live on, so "mark an order paid and
# watch it push" can be tried many times (placed in the last day, numbers after the others).
EXTRA_UNPAID, EXTRA_UNPAID_SITES = 12, ("northwind-b2b", "city-council", "promo-shop")
