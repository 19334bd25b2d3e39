"""Synthetic supplier names and their messy variants, for training the matcher and for benchmarks.

Two parts, both deterministic for a given seed:

- ``generate_entities(n, seed=...)``: a realistic reference set. Names follow the shapes seen in real
  supplier lists per country (Chinese "City + trade name + industry + Co., Ltd.", Indian "Shree ...
  Exports Pvt Ltd", Vietnamese "Cong Ty TNHH ...", Turkish "... Tekstil San. ve Tic. A.S.", ...), with
  trade names built from language-specific syllables so the vocabulary is open and collisions are as
  frequent as in real data (many "Huamei" and "Xinxing" companies in different cities and industries).
- ``perturb(name, rng)``: a variant of a name as another list would write it (legal-form swap,
  abbreviation, transliteration spacing, respelling, typo, token order, dropped token, branch or plant suffix).
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import polars as pl

from risk_engine.matching.normalise import KEY_FOLDS

# Country shares loosely follow the mix of published apparel/footwear/electronics supplier lists.
COUNTRY_WEIGHTS: dict[str, float] = {
    "CN": 0.30,
    "IN": 0.09,
    "US": 0.07,
    "VN": 0.07,
    "BD": 0.05,
    "TR": 0.04,
    "ID": 0.04,
    "PK": 0.03,
    "DE": 0.03,
    "TW": 0.02,
    "IT": 0.02,
    "MX": 0.02,
    "BR": 0.02,
    "TH": 0.02,
    "KH": 0.02,
    "MY": 0.02,
    "JP": 0.02,
    "KR": 0.02,
    "GB": 0.02,
    "LK": 0.01,
    "ES": 0.01,
    "FR": 0.01,
    "PL": 0.01,
    "RU": 0.01,
    "HK": 0.01,
    "MM": 0.01,
    "EG": 0.01,
    "MA": 0.005,
    "HN": 0.005,
    "SV": 0.005,
    "GT": 0.005,
    "PT": 0.005,
    "NL": 0.005,
    "ET": 0.005,
    "KE": 0.005,
}

PINYIN = [
    "an",
    "ao",
    "bai",
    "bao",
    "bei",
    "ben",
    "bin",
    "bo",
    "cai",
    "can",
    "chang",
    "chao",
    "chen",
    "cheng",
    "chi",
    "chong",
    "chuang",
    "chun",
    "cong",
    "da",
    "dan",
    "de",
    "deng",
    "di",
    "ding",
    "dong",
    "du",
    "duan",
    "fa",
    "fan",
    "fang",
    "fei",
    "feng",
    "fu",
    "gang",
    "gao",
    "ge",
    "geng",
    "gong",
    "guan",
    "guang",
    "gui",
    "guo",
    "hai",
    "han",
    "hang",
    "hao",
    "he",
    "heng",
    "hong",
    "hou",
    "hu",
    "hua",
    "huai",
    "huan",
    "huang",
    "hui",
    "jia",
    "jian",
    "jiang",
    "jiao",
    "jie",
    "jin",
    "jing",
    "jiu",
    "ju",
    "jun",
    "kai",
    "kang",
    "ke",
    "kun",
    "lan",
    "lang",
    "le",
    "lei",
    "li",
    "lian",
    "liang",
    "lin",
    "ling",
    "liu",
    "long",
    "lu",
    "lun",
    "luo",
    "mao",
    "mei",
    "meng",
    "ming",
    "mu",
    "na",
    "nan",
    "neng",
    "ning",
    "pei",
    "peng",
    "ping",
    "qi",
    "qian",
    "qiang",
    "qiao",
    "qin",
    "qing",
    "qiu",
    "quan",
    "rong",
    "rui",
    "run",
    "sen",
    "shan",
    "shang",
    "shao",
    "sheng",
    "shi",
    "shun",
    "si",
    "song",
    "tai",
    "tan",
    "tang",
    "tao",
    "teng",
    "tian",
    "ting",
    "tong",
    "wan",
    "wang",
    "wei",
    "wen",
    "xi",
    "xia",
    "xian",
    "xiang",
    "xiao",
    "xin",
    "xing",
    "xiong",
    "xu",
    "xuan",
    "ya",
    "yang",
    "yao",
    "ye",
    "yi",
    "yin",
    "ying",
    "yong",
    "you",
    "yu",
    "yuan",
    "yue",
    "yun",
    "ze",
    "zhan",
    "zhang",
    "zhao",
    "zhe",
    "zhen",
    "zheng",
    "zhi",
    "zhong",
    "zhou",
    "zhu",
    "zhuo",
    "zi",
]
# Syllables that Chinese trade names use far more often than others (prosperity, China, gold, ...).
PINYIN_POPULAR = [
    "xin",
    "hua",
    "mei",
    "da",
    "tai",
    "feng",
    "li",
    "sheng",
    "long",
    "hong",
    "jin",
    "yuan",
    "fu",
    "xing",
    "hui",
    "kang",
    "tian",
    "bao",
]

CN_CITIES = [
    "Guangzhou",
    "Shenzhen",
    "Dongguan",
    "Foshan",
    "Zhongshan",
    "Jiangmen",
    "Huizhou",
    "Shantou",
    "Jieyang",
    "Chaozhou",
    "Xiamen",
    "Quanzhou",
    "Jinjiang",
    "Putian",
    "Fuzhou",
    "Ningbo",
    "Hangzhou",
    "Shaoxing",
    "Wenzhou",
    "Taizhou",
    "Jiaxing",
    "Huzhou",
    "Yiwu",
    "Jinhua",
    "Shaoxing",
    "Haining",
    "Suzhou",
    "Wuxi",
    "Changzhou",
    "Nantong",
    "Kunshan",
    "Changshu",
    "Zhangjiagang",
    "Jiangyin",
    "Yangzhou",
    "Yancheng",
    "Nanjing",
    "Xuzhou",
    "Shanghai",
    "Qingdao",
    "Yantai",
    "Weifang",
    "Jinan",
    "Zibo",
    "Linyi",
    "Weihai",
    "Tianjin",
    "Beijing",
    "Shijiazhuang",
    "Baoding",
    "Hefei",
    "Wuhan",
    "Changsha",
    "Nanchang",
    "Chengdu",
    "Chongqing",
    "Zhengzhou",
    "Xian",
    "Shenyang",
    "Dalian",
    "Harbin",
    "Kunming",
    "Nanning",
    "Urumqi",
    "Aksu",
    "Kashgar",
    "Hotan",
    "Korla",
    "Shihezi",
    "Changji",
    "Turpan",
    "Lanzhou",
    "Xining",
    "Yinchuan",
    "Hohhot",
    "Baotou",
    "Taiyuan",
    "Guiyang",
    "Haikou",
    "Jiangsu",
    "Zhejiang",
    "Fujian",
    "Guangdong",
    "Shandong",
    "Anhui",
    "Hubei",
    "Hunan",
    "Jiangxi",
    "Henan",
    "Hebei",
    "Xinjiang",
]

CN_INDUSTRY = [
    "Textile",
    "Garment",
    "Garments",
    "Apparel",
    "Clothing",
    "Knitting",
    "Weaving",
    "Dyeing",
    "Printing and Dyeing",
    "Shoes",
    "Footwear",
    "Leather",
    "Leather Products",
    "Bags",
    "Luggage",
    "Toys",
    "Electronics",
    "Electronic Technology",
    "Electrical Appliance",
    "Plastic Products",
    "Rubber Products",
    "Hardware",
    "Metal Products",
    "Machinery",
    "Auto Parts",
    "Furniture",
    "Home Textile",
    "Silk",
    "Cotton",
    "Cotton Spinning",
    "Yarn",
    "Spinning",
    "Fabric",
    "Fibre",
    "Chemical Fibre",
    "Polysilicon",
    "Solar Energy",
    "Photovoltaic",
    "New Energy",
    "Battery",
    "Lighting",
    "Optoelectronics",
    "Packaging",
    "Paper Products",
    "Ceramics",
    "Glass",
    "Trading",
    "Import and Export",
    "Industrial",
    "Industry",
    "Technology",
    "Science and Technology",
    "Materials",
    "New Materials",
    "Sporting Goods",
    "Headwear",
    "Gloves",
    "Socks",
    "Hosiery",
    "Umbrella",
    "Crafts",
    "Arts and Crafts",
    "Food",
    "Agricultural Products",
    "Tomato Products",
    "Seafood",
    "Tea",
    "Down Products",
    "Feather",
    "Wool",
    "Cashmere",
    "Fashion",
    "Underwear",
    "Lingerie",
    "Sweater",
]

CN_LEGAL = (
    "Co., Ltd.",
    "Co., Ltd",
    "Co. Ltd.",
    "Co Ltd",
    "Company Limited",
    "Co., Limited",
    "Limited",
    "Corp.",
)

EN_SURNAMES = [
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Miller",
    "Davis",
    "Wilson",
    "Anderson",
    "Taylor",
    "Thomas",
    "Moore",
    "Martin",
    "Jackson",
    "Thompson",
    "White",
    "Harris",
    "Clark",
    "Lewis",
    "Robinson",
    "Walker",
    "Young",
    "Allen",
    "King",
    "Wright",
    "Scott",
    "Hill",
    "Green",
    "Adams",
    "Baker",
    "Nelson",
    "Carter",
    "Mitchell",
    "Roberts",
    "Turner",
    "Phillips",
    "Campbell",
    "Parker",
    "Evans",
    "Edwards",
    "Collins",
    "Stewart",
    "Morris",
    "Murphy",
    "Cook",
    "Rogers",
    "Morgan",
    "Cooper",
    "Peterson",
    "Reed",
    "Bailey",
    "Bell",
    "Kelly",
    "Howard",
    "Ward",
    "Cox",
    "Richardson",
    "Wood",
    "Watson",
    "Brooks",
    "Bennett",
    "Gray",
    "Hughes",
    "Price",
    "Sanders",
    "Myers",
    "Long",
    "Ross",
    "Foster",
    "Powell",
    "Jenkins",
    "Perry",
    "Russell",
    "Sullivan",
    "Fisher",
    "Hamilton",
    "Graham",
    "Wallace",
    "Hayes",
    "Gibson",
    "Ellis",
    "Ford",
    "Marshall",
    "Owens",
    "Harrison",
    "Fletcher",
    "Chapman",
    "Hunt",
    "Palmer",
    "Mason",
    "Webb",
    "Carlisle",
    "Whitfield",
    "Ashford",
    "Barlow",
    "Crane",
    "Dalton",
    "Emerson",
    "Fairbanks",
    "Garrison",
    "Holloway",
    "Ingram",
    "Kendall",
    "Langley",
    "Mercer",
]

EN_WORDS = [
    "American",
    "Pacific",
    "Atlantic",
    "Global",
    "United",
    "National",
    "Premier",
    "Summit",
    "Eagle",
    "Liberty",
    "Pioneer",
    "Heritage",
    "Northern",
    "Southern",
    "Western",
    "Eastern",
    "Coastal",
    "Mountain",
    "River",
    "Valley",
    "Lake",
    "Bay",
    "Harbor",
    "Golden",
    "Silver",
    "Blue",
    "Red",
    "Green",
    "Star",
    "Sun",
    "Apex",
    "Vertex",
    "Keystone",
    "Cornerstone",
    "Anchor",
    "Beacon",
    "Crown",
    "Royal",
    "Imperial",
    "Sterling",
    "Diamond",
    "Crystal",
    "Evergreen",
    "Oak",
    "Pine",
    "Maple",
    "Cedar",
    "Granite",
    "Iron",
    "Steel",
    "Precision",
    "Quality",
    "Reliable",
    "Advanced",
    "Superior",
    "Standard",
    "Central",
    "Midwest",
    "Frontier",
    "Horizon",
    "Allied",
    "Consolidated",
    "Integrated",
    "Dynamic",
    "Modern",
    "Classic",
    "Vintage",
    "Urban",
    "Metro",
]

EN_INDUSTRY = [
    "Manufacturing",
    "Industries",
    "Products",
    "Textiles",
    "Apparel",
    "Fabrics",
    "Mills",
    "Knitting Mills",
    "Hosiery",
    "Footwear",
    "Plastics",
    "Packaging",
    "Electronics",
    "Components",
    "Technologies",
    "Systems",
    "Solutions",
    "Supply",
    "Distributors",
    "Trading",
    "Imports",
    "Foods",
    "Farms",
    "Chemicals",
    "Materials",
    "Metals",
    "Tool and Die",
    "Machine Works",
    "Fasteners",
    "Converting",
    "Printing",
    "Dyeing and Finishing",
    "Cotton",
    "Yarns",
    "Leather",
    "Rubber",
    "Sporting Goods",
    "Brands",
    "Group",
    "Enterprises",
    "Holdings",
]

EN_LEGAL = ("Inc.", "Inc", "LLC", "L.L.C.", "Corp.", "Corporation", "Co.", "Company", "Ltd", "Limited", "PLC")

IN_WORDS = [
    "Shree",
    "Sri",
    "Shri",
    "Laxmi",
    "Lakshmi",
    "Ganesh",
    "Krishna",
    "Balaji",
    "Om",
    "Sai",
    "Vardhman",
    "Arvind",
    "Raymond",
    "Welspun",
    "Trident",
    "Alok",
    "Vishal",
    "Mahalaxmi",
    "Ambika",
    "Durga",
    "Shakti",
    "Jai",
    "Bharat",
    "Hindustan",
    "Indo",
    "Tirupur",
    "Kaveri",
    "Ganga",
    "Yamuna",
    "Narmada",
    "Sagar",
    "Surya",
    "Chandra",
    "Anand",
    "Ashok",
    "Vijay",
    "Rajesh",
    "Suresh",
    "Ramesh",
    "Mahesh",
    "Kiran",
    "Pooja",
    "Sunrise",
    "Royal",
    "Classic",
    "Prime",
]
IN_SURNAMES = [
    "Patel",
    "Shah",
    "Gupta",
    "Agarwal",
    "Agrawal",
    "Mehta",
    "Jain",
    "Reddy",
    "Rao",
    "Naidu",
    "Iyer",
    "Nair",
    "Menon",
    "Pillai",
    "Singh",
    "Sharma",
    "Verma",
    "Kumar",
    "Malhotra",
    "Kapoor",
    "Khanna",
    "Chopra",
    "Bansal",
    "Goyal",
    "Mittal",
    "Garg",
    "Sethi",
    "Bhatia",
    "Desai",
    "Joshi",
    "Kulkarni",
    "Chettiar",
    "Gounder",
    "Mudaliar",
    "Thakur",
    "Chauhan",
    "Rathore",
    "Saxena",
    "Srivastava",
    "Tiwari",
    "Pandey",
    "Mishra",
    "Dubey",
]
IN_INDUSTRY = [
    "Exports",
    "Export House",
    "Textiles",
    "Textile Mills",
    "Spinning Mills",
    "Knit Fashions",
    "Garments",
    "Apparels",
    "Fabrics",
    "Cotton Mills",
    "Yarns",
    "Processors",
    "Dyeing",
    "Hosiery",
    "Leather",
    "Tanners",
    "Footwear",
    "Industries",
    "Enterprises",
    "Overseas",
    "International",
    "Impex",
    "Creations",
    "Fashions",
    "Handicrafts",
    "Carpets",
    "Rugs",
    "Agro Products",
    "Rice Mills",
    "Sugar",
    "Tea Estates",
]
IN_LEGAL = ("Pvt. Ltd.", "Pvt Ltd", "Private Limited", "Ltd.", "Limited", "(P) Ltd", "LLP")

VN_SYL = [
    "phu",
    "thanh",
    "viet",
    "tien",
    "hoa",
    "minh",
    "long",
    "an",
    "hung",
    "thinh",
    "phat",
    "dat",
    "tan",
    "nam",
    "bac",
    "dong",
    "tay",
    "sai",
    "gon",
    "ha",
    "noi",
    "hai",
    "phong",
    "quang",
    "binh",
    "duong",
    "dong",
    "nai",
    "vinh",
    "kim",
    "ngoc",
    "bao",
    "khang",
    "gia",
    "huy",
    "hoang",
    "son",
    "truong",
    "phuoc",
    "loc",
    "tai",
    "duc",
    "tri",
    "trung",
    "nhat",
    "my",
    "anh",
    "linh",
    "mai",
    "lan",
    "hong",
    "thu",
    "thuy",
]
VN_INDUSTRY = [
    "May Mac",
    "Det May",
    "Giay Da",
    "Xuat Nhap Khau",
    "Thuong Mai",
    "San Xuat",
    "Det Kim",
    "Nhua",
    "Go",
    "Thuc Pham",
    "Thuy San",
    "Garment",
    "Textile",
    "Footwear",
    "Apparel",
    "Knitting",
]

BD_WORDS = [
    "Ha",
    "Meem",
    "Dird",
    "Square",
    "Beximco",
    "Ananta",
    "Epyllion",
    "Fakir",
    "Mohammadi",
    "Envoy",
    "Sterling",
    "Standard",
    "Masco",
    "Hamza",
    "Pioneer",
    "Rahman",
    "Hossain",
    "Islam",
    "Ahmed",
    "Karim",
    "Chowdhury",
    "Akter",
    "Begum",
    "Uddin",
    "Alam",
    "Sikder",
    "Mondol",
    "Bashundhara",
    "Padma",
    "Jamuna",
    "Meghna",
    "Karnaphuli",
    "Dhaka",
    "Chittagong",
    "Gazipur",
    "Narayanganj",
    "Savar",
    "Ashulia",
    "Tongi",
    "Comilla",
    "Rupsha",
    "Surma",
    "Bengal",
]
BD_INDUSTRY = [
    "Knit",
    "Knitwear",
    "Knit Composite",
    "Sweaters",
    "Apparels",
    "Garments",
    "Fashions",
    "Textiles",
    "Spinning",
    "Denim",
    "Washing",
    "Dyeing",
    "Composite",
    "Design",
    "Styles",
    "Outfit",
    "Wear",
]

TR_WORDS = [
    "Akin",
    "Yilmaz",
    "Demir",
    "Sahin",
    "Celik",
    "Yildiz",
    "Ozturk",
    "Aydin",
    "Ozdemir",
    "Arslan",
    "Dogan",
    "Kilic",
    "Aslan",
    "Cetin",
    "Kara",
    "Koc",
    "Kurt",
    "Ozkan",
    "Simsek",
    "Polat",
    "Erdem",
    "Kaya",
    "Bursa",
    "Denizli",
    "Usak",
    "Kayseri",
    "Gaziantep",
    "Ege",
    "Marmara",
    "Anadolu",
    "Efes",
    "Mavi",
    "Yesil",
]
TR_INDUSTRY = ("Tekstil", "Konfeksiyon", "Orme", "Iplik", "Dokuma", "Boya", "Deri", "Giyim", "Hali", "Pamuk")
TR_LEGAL = (
    "San. ve Tic. A.S.",
    "Sanayi ve Ticaret A.S.",
    "San. Tic. Ltd. Sti.",
    "A.S.",
    "Ltd. Sti.",
)

ID_SYL = [
    "indo",
    "maju",
    "jaya",
    "sinar",
    "abadi",
    "makmur",
    "sentosa",
    "karya",
    "mulia",
    "sejahtera",
    "bumi",
    "nusa",
    "prima",
    "tekstil",
    "garmen",
    "busana",
    "surya",
    "mas",
    "agung",
    "raya",
    "putra",
    "putri",
    "sukses",
    "bersama",
    "cahaya",
    "gemilang",
    "kencana",
]

DE_WORDS = [
    "Muller",
    "Schmidt",
    "Schneider",
    "Fischer",
    "Weber",
    "Meyer",
    "Wagner",
    "Becker",
    "Schulz",
    "Hoffmann",
    "Koch",
    "Richter",
    "Klein",
    "Wolf",
    "Schroder",
    "Neumann",
    "Schwarz",
    "Zimmermann",
    "Braun",
    "Kruger",
    "Hofmann",
    "Hartmann",
    "Lange",
    "Werner",
    "Krause",
    "Lehmann",
    "Kohler",
]
DE_INDUSTRY = (
    "Textil",
    "Maschinenbau",
    "Kunststoff",
    "Metallbau",
    "Elektronik",
    "Handel",
    "Logistik",
    "Technik",
)
DE_LEGAL = ("GmbH", "GmbH & Co. KG", "AG", "KG", "e.K.")

LATIN_SYL = [
    "al",
    "an",
    "ar",
    "bel",
    "ca",
    "cor",
    "da",
    "del",
    "el",
    "es",
    "fer",
    "ga",
    "la",
    "li",
    "lu",
    "ma",
    "mar",
    "mon",
    "na",
    "nor",
    "or",
    "pa",
    "pe",
    "ra",
    "ri",
    "ro",
    "sa",
    "san",
    "ta",
    "to",
    "va",
    "ve",
    "vi",
]
JP_SYL = [
    "a",
    "ka",
    "sa",
    "ta",
    "na",
    "ha",
    "ma",
    "ya",
    "ra",
    "wa",
    "ki",
    "shi",
    "chi",
    "ni",
    "hi",
    "mi",
    "ri",
    "ku",
    "su",
    "tsu",
    "nu",
    "fu",
    "mu",
    "yu",
    "ru",
    "ko",
    "so",
    "to",
    "no",
    "ho",
    "mo",
    "yo",
    "ro",
]
KR_SYL = [
    "han",
    "kim",
    "lee",
    "park",
    "choi",
    "jung",
    "kang",
    "cho",
    "yoon",
    "jang",
    "lim",
    "dae",
    "hyun",
    "sung",
    "min",
    "jin",
    "young",
    "seo",
    "won",
    "hee",
]
TH_SYL = [
    "siam",
    "thai",
    "krung",
    "sri",
    "chai",
    "wat",
    "somboon",
    "charoen",
    "pattana",
    "suk",
    "mongkol",
    "rat",
    "sin",
    "kit",
    "sap",
]

GENERIC_INDUSTRY = [
    "Textile",
    "Garment",
    "Apparel",
    "Fashion",
    "Knitting",
    "Footwear",
    "Leather",
    "Electronics",
    "Plastics",
    "Industries",
    "Manufacturing",
    "Trading",
    "Export",
    "Import Export",
    "Foods",
    "Agro",
    "Packaging",
    "Metal",
    "Technology",
    "Group",
]
GENERIC_LEGAL = (
    "Co., Ltd.",
    "Ltd",
    "Limited",
    "Company",
    "Co.",
    "Inc.",
    "S.A.",
    "S.A. de C.V.",
    "Sdn. Bhd.",
    "JSC",
)

STREET_WORDS = [
    "Industrial Zone",
    "Economic Development Zone",
    "Road",
    "Street",
    "Avenue",
    "Export Processing Zone",
    "Village",
    "Town",
]


_BRAND_SYL: dict[str, Sequence[str]] = {
    "JP": JP_SYL,
    "KR": KR_SYL,
    "TH": TH_SYL,
    "VN": VN_SYL,
    "ID": ID_SYL,
    "MY": ID_SYL,
}


def _pick(rng: random.Random, seq: Sequence[str]) -> str:
    return seq[rng.randrange(len(seq))]


def _cn_trade_name(rng: random.Random) -> str:
    n = 2 if rng.random() < 0.85 else 3
    syl = [_pick(rng, PINYIN_POPULAR) if rng.random() < 0.35 else _pick(rng, PINYIN) for _ in range(n)]
    return "".join(syl).capitalize()


def _brand(rng: random.Random, syllables: Sequence[str], lo: int = 2, hi: int = 3) -> str:
    return "".join(_pick(rng, syllables) for _ in range(rng.randint(lo, hi))).capitalize()


def _name_cn(rng: random.Random) -> str:
    city = _pick(rng, CN_CITIES)
    trade = _cn_trade_name(rng)
    industry = _pick(rng, CN_INDUSTRY)
    legal = _pick(rng, CN_LEGAL)
    r = rng.random()
    if r < 0.6:
        return f"{city} {trade} {industry} {legal}"
    if r < 0.75:
        return f"{trade} ({city}) {industry} {legal}"
    if r < 0.85:
        return f"{city} {trade} {industry} Group {legal}"
    if r < 0.92:
        return f"{trade} {industry} {legal}"
    return f"{city} {trade} {industry} Factory"


def _name_us(rng: random.Random) -> str:
    r = rng.random()
    if r < 0.35:
        head = _pick(rng, EN_SURNAMES)
    elif r < 0.55:
        head = f"{_pick(rng, EN_SURNAMES)} & {_pick(rng, EN_SURNAMES)}"
    elif r < 0.8:
        head = f"{_pick(rng, EN_WORDS)} {_pick(rng, EN_WORDS)}"
    else:
        head = _brand(rng, LATIN_SYL)
    return f"{head} {_pick(rng, EN_INDUSTRY)} {_pick(rng, EN_LEGAL)}"


def _name_in(rng: random.Random) -> str:
    r = rng.random()
    if r < 0.5:
        head = f"{_pick(rng, IN_WORDS)} {_pick(rng, IN_WORDS)}"
    elif r < 0.8:
        head = f"{_pick(rng, IN_SURNAMES)}"
    else:
        head = f"{_pick(rng, IN_WORDS)} {_pick(rng, IN_SURNAMES)}"
    return f"{head} {_pick(rng, IN_INDUSTRY)} {_pick(rng, IN_LEGAL)}"


def _name_vn(rng: random.Random) -> str:
    head = " ".join(_pick(rng, VN_SYL).capitalize() for _ in range(rng.randint(2, 3)))
    industry = _pick(rng, VN_INDUSTRY)
    if rng.random() < 0.5:
        return f"Cong Ty TNHH {industry} {head}"
    return f"{head} {industry} {_pick(rng, ('Co., Ltd', 'Joint Stock Company', 'JSC', 'Company Limited'))}"


def _name_bd(rng: random.Random) -> str:
    head = _pick(rng, BD_WORDS) if rng.random() < 0.6 else f"{_pick(rng, BD_WORDS)} {_pick(rng, BD_WORDS)}"
    return f"{head} {_pick(rng, BD_INDUSTRY)} {_pick(rng, ('Ltd.', 'Limited', 'Ltd'))}"


def _name_tr(rng: random.Random) -> str:
    head = _pick(rng, TR_WORDS) if rng.random() < 0.5 else f"{_pick(rng, TR_WORDS)} {_pick(rng, TR_WORDS)}"
    return f"{head} {_pick(rng, TR_INDUSTRY)} {_pick(rng, TR_LEGAL)}"


def _name_id(rng: random.Random) -> str:
    head = " ".join(_pick(rng, ID_SYL).capitalize() for _ in range(rng.randint(2, 3)))
    tail = " Tbk" if rng.random() < 0.1 else ""
    return f"PT {head}{tail}"


def _name_de(rng: random.Random) -> str:
    return f"{_pick(rng, DE_WORDS)} {_pick(rng, DE_INDUSTRY)} {_pick(rng, DE_LEGAL)}"


def _name_generic(syllables: Sequence[str]) -> Callable[[random.Random], str]:
    def make(rng: random.Random) -> str:
        head = _brand(rng, syllables)
        if rng.random() < 0.4:
            head += " " + _brand(rng, syllables, 1, 2)
        return f"{head} {_pick(rng, GENERIC_INDUSTRY)} {_pick(rng, GENERIC_LEGAL)}"

    return make


_MAKERS: dict[str, Callable[[random.Random], str]] = {
    "CN": _name_cn,
    "TW": _name_cn,
    "HK": _name_cn,
    "US": _name_us,
    "GB": _name_us,
    "IN": _name_in,
    "PK": _name_in,
    "LK": _name_in,
    "VN": _name_vn,
    "BD": _name_bd,
    "TR": _name_tr,
    "ID": _name_id,
    "MY": _name_id,
    "DE": _name_de,
    "JP": _name_generic(JP_SYL),
    "KR": _name_generic(KR_SYL),
    "TH": _name_generic(TH_SYL),
    "KH": _name_generic(TH_SYL),
    "MM": _name_generic(TH_SYL),
}


def _street(rng: random.Random, chinese: bool) -> str:
    return f"{_cn_trade_name(rng) if chinese else _brand(rng, LATIN_SYL)} {_pick(rng, ('Road', 'Street', 'Avenue', 'Lane'))}"


def _place(rng: random.Random, chinese: bool) -> str:
    """An industrial park, zone, village or town (without its city)."""
    place = _cn_trade_name(rng) if chinese else _brand(rng, LATIN_SYL)
    kind = _pick(rng, ("Industrial Zone", "Industrial Park", "Village", "Economic Development Zone", "Town"))
    return f"{place} {kind}"


def _address(rng: random.Random, country: str, parks: dict[str, list[str]]) -> str:
    """Street + industrial park or village + city (+ postcode); a fifth of sites share a park."""
    chinese = country in ("CN", "TW", "HK")
    no = rng.randint(1, 999)
    street = _street(rng, chinese)
    known = parks.setdefault(country, [])
    if known and rng.random() < 0.2:
        park = _pick(rng, known)  # co-located companies: same park, same city, another firm
    else:
        place = _place(rng, chinese)
        city = _pick(rng, CN_CITIES) if chinese else _brand(rng, LATIN_SYL)
        park = f"{place}, {city}"
        if len(known) < 2000:
            known.append(park)
    post = f" {rng.randint(100000, 999999)}" if rng.random() < 0.4 else ""
    return f"No. {no} {street}, {park}{post}"


_CN_CITY_SET = frozenset(CN_CITIES)


def site_address(rng: random.Random, country: str) -> str:
    """A fresh address in ``country`` (another site)."""
    return _address(rng, country, {})


def another_plot(address: str, rng: random.Random) -> str:
    """Another site in the same park or zone: another number, often another street, same place.

    Garment and component plants cluster in export zones and industrial parks, so two sites of one
    company (or two companies) often share every word of the address but the plot or house number.
    """
    head, sep, place = address.partition(", ")
    words = head.split(" ")
    if len(words) < 3 or not words[1].isdigit() or not sep:
        return address
    number = int(words[1])
    other = rng.choice([n for n in range(1, 1000) if n != number])
    street = " ".join(words[2:])
    if rng.random() < 0.5:
        street = _street(rng, chinese=False)
    return f"{words[0]} {other} {street}, {place}"


def same_city_address(address: str, rng: random.Random) -> str:
    """Another address in the same city: another street, number and park or village, the city kept.

    A company's registered office, a move or another of its sites is often in the city of the first
    address, which two addresses then share (with the postcode, if any).
    """
    _head, sep, rest = address.rpartition(", ")
    if not sep:
        return address
    chinese = rest.split(" ")[0] in _CN_CITY_SET
    street, place = _street(rng, chinese), _place(rng, chinese)
    return f"No. {rng.randint(1, 999)} {street}, {place}, {rest}"


@dataclass(frozen=True)
class SyntheticEntity:
    """One generated reference entity."""

    id: str
    name: str
    country: str
    address: str


_LEGAL_WORDS = frozenset(
    [
        "co",
        "ltd",
        "limited",
        "inc",
        "corp",
        "corporation",
        "company",
        "llc",
        "l",
        "c",
        "plc",
        "pvt",
        "private",
        "p",
        "gmbh",
        "kg",
        "ag",
        "e",
        "k",
        "a",
        "s",
        "san",
        "tic",
        "ve",
        "sti",
        "sanayi",
        "ticaret",
        "jsc",
        "joint",
        "stock",
        "pt",
        "tbk",
        "sdn",
        "bhd",
        "de",
        "cv",
        "group",
    ]
)
_WORD_RE = re.compile(r"[^a-z0-9]+")


def _cheap_key(name: str) -> str:
    """Sorted words without legal-form words: a fast stand-in for ``name_key`` while generating."""
    return " ".join(sorted(w for w in _WORD_RE.split(name.lower()) if w and w not in _LEGAL_WORDS))


def generate_entities(n: int, *, seed: int = 20261123, with_address: bool = True) -> pl.DataFrame:
    """A reference set of ``n`` entities (columns id, name, country, address); deterministic per seed."""
    rng = random.Random(seed)
    countries = list(COUNTRY_WEIGHTS)
    weights = list(COUNTRY_WEIGHTS.values())
    chosen = rng.choices(countries, weights=weights, k=n)
    names: list[str] = []
    addresses: list[str | None] = []
    parks: dict[str, list[str]] = {}
    seen: set[tuple[str, str]] = set()
    for c in chosen:
        maker = _MAKERS.get(c) or _name_generic(LATIN_SYL)
        # Registries rarely hold two companies of the same name in one country: redraw on a clash.
        for attempt in range(20):
            name = maker(rng)
            # Most real trade names carry a coined word; the word lists alone would repeat names.
            coin = attempt >= 3 or rng.random() < 0.5
            if c not in ("CN", "TW", "HK") and coin:
                brand = _brand(rng, _BRAND_SYL.get(c, LATIN_SYL))
                if name.startswith(("PT ", "Cong Ty TNHH ")):
                    head, _, rest = name.partition(" TNHH " if name.startswith("Cong") else " ")
                    name = f"{head}{' TNHH' if name.startswith('Cong') else ''} {brand} {rest}"
                else:
                    name = f"{brand} {name}"
            key = (c, _cheap_key(name))
            if key not in seen:
                break
        seen.add(key)
        names.append(name)
        addresses.append(_address(rng, c, parks) if with_address else None)
    return pl.DataFrame(
        {
            "id": [f"E{i:07d}" for i in range(n)],
            "name": names,
            "country": chosen,
            "address": addresses,
        }
    )


# --- perturbations -------------------------------------------------------------------------------

_LEGAL_SWAPS: tuple[tuple[str, ...], ...] = (
    ("Co., Ltd.", "Co., Ltd", "Co Ltd", "Company Limited", "Co. Limited", "CO.,LTD", "Limited", "Ltd.", ""),
    ("Inc.", "Inc", "Incorporated", "Corp.", "Corporation", "LLC", "Co.", ""),
    ("Pvt. Ltd.", "Pvt Ltd", "Private Limited", "(P) Ltd", "Ltd", ""),
    ("GmbH", "GmbH & Co. KG", ""),
    ("S.A.", "SA", "S.A. de C.V.", ""),
    ("A.S.", "AS", "San. ve Tic. A.S.", ""),
    ("JSC", "Joint Stock Company", "J.S.C.", ""),
)
_ABBREVIATIONS: dict[str, str] = {
    "International": "Intl",
    "Industrial": "Ind.",
    "Industries": "Inds",
    "Industry": "Ind.",
    "Manufacturing": "Mfg",
    "Company": "Co.",
    "Corporation": "Corp.",
    "Limited": "Ltd",
    "Technology": "Tech",
    "Textile": "Tex",
    "Textiles": "Tex",
    "Garment": "Gmt",
    "Import and Export": "Imp & Exp",
    "Import Export": "Imp Exp",
    "Products": "Prods",
    "Trading": "Trdg",
    "Electronics": "Elec",
    "Group": "Grp",
    "and": "&",
    "Private": "Pvt",
}
_BRANCH = ("Branch", "Plant", "Factory", "Factory No. 2", "Dongguan Branch", "Unit 2", "Plant 1", "Mill")


def _legal_swap(name: str, rng: random.Random) -> str:
    for group in _LEGAL_SWAPS:
        for form in sorted(group, key=len, reverse=True):
            if form and name.endswith(form):
                return (name[: -len(form)].rstrip(" ,") + " " + _pick(rng, group)).strip()
    return f"{name} {_pick(rng, ('Co., Ltd.', 'Ltd', 'Limited', 'Inc.'))}"


def _abbreviate(name: str, rng: random.Random) -> str:
    hits = [k for k in _ABBREVIATIONS if k in name]
    if not hits:
        return name
    k = _pick(rng, hits)
    return name.replace(k, _ABBREVIATIONS[k], 1)


def _split_syllables(name: str, rng: random.Random) -> str:
    """Transliteration spacing: 'Xinxing' -> 'Xin Xing', or 'Xin Xing' -> 'Xinxing'."""
    words = name.split()
    if len(words) >= 2 and rng.random() < 0.4:
        i = rng.randrange(len(words) - 1)
        return " ".join([*words[:i], words[i] + words[i + 1].lower(), *words[i + 2 :]])
    for i, w in enumerate(words):
        for cut in range(2, len(w) - 1):
            if w[:cut].lower() in PINYIN and w[cut:].lower() in PINYIN:
                words[i] = w[:cut] + " " + w[cut:].capitalize()
                return " ".join(words)
    return name


def _typo(name: str, rng: random.Random) -> str:
    if len(name) < 4:
        return name
    i = rng.randrange(1, len(name) - 1)
    op = rng.randrange(4)
    letter = chr(ord("a") + rng.randrange(26))
    if op == 0:
        return name[:i] + name[i + 1 :]
    if op == 1:
        return name[:i] + letter + name[i:]
    if op == 2:
        return name[:i] + letter + name[i + 1 :]
    return name[: i - 1] + name[i] + name[i - 1] + name[i + 1 :]


_SINGULAR_TO_PLURAL = {s: p for p, s in KEY_FOLDS.items() if not p.startswith("intern")}


def _inflect(name: str, rng: random.Random) -> str:
    """A descriptive word in the other number, as lists write it ("Technology" / "Technologies")."""
    words = name.split()
    options = [i for i, w in enumerate(words) if w.lower() in KEY_FOLDS or w.lower() in _SINGULAR_TO_PLURAL]
    if not options:
        return name
    i = options[rng.randrange(len(options))]
    w = words[i]
    other = KEY_FOLDS.get(w.lower()) or _SINGULAR_TO_PLURAL[w.lower()]
    words[i] = other.upper() if w.isupper() else other.capitalize() if w[:1].isupper() else other
    return " ".join(words)


def _reorder(name: str, rng: random.Random) -> str:
    words = name.split()
    if len(words) >= 2 and rng.random() < 0.3:
        return " ".join([*words[1:], words[0]])  # inverted, as indexes write "Bosch GmbH Robert"
    if len(words) < 3:
        return name
    i = rng.randrange(len(words) - 1)
    words[i], words[i + 1] = words[i + 1], words[i]
    return " ".join(words)


def _droppable_words() -> frozenset[str]:
    words = set(CN_CITIES) | set(EN_WORDS) | set(STREET_WORDS)
    for phrases in (CN_INDUSTRY, EN_INDUSTRY, IN_INDUSTRY, BD_INDUSTRY, GENERIC_INDUSTRY, TR_INDUSTRY):
        for phrase in phrases:
            words.update(phrase.split())
    return frozenset(w.lower() for w in words)


_DROPPABLE = _droppable_words()


def _drop_token(name: str, rng: random.Random) -> str:
    """Drop a city or industry word (lists often shorten names so), never the trade name."""
    words = name.split()
    options = [i for i, w in enumerate(words) if w.lower().strip(",.()") in _DROPPABLE]
    if len(words) < 3 or not options:
        return name
    i = _pick(rng, [str(o) for o in options])
    return " ".join(w for j, w in enumerate(words) if j != int(i))


# Letters that another language's spelling or a transliteration writes differently (Turkish "Tekstil",
# Indonesian "Elektronik", "Filips" and "Ehlektroniks" transliterated back from Cyrillic).
_RESPELLINGS = (
    ("ph", "f"),
    ("f", "ph"),  # a doubled "ff" is left alone
    ("ck", "k"),
    ("ch", "kh"),
    ("c", "k"),
    ("k", "c"),
    ("x", "ks"),
    ("ks", "x"),
    ("y", "i"),
    ("w", "v"),
)


def _pinyin(word: str) -> bool:
    """``word`` is pinyin syllables written together ("jinyuan"): already a transliteration."""
    return word in PINYIN or any(word[:k] in PINYIN and _pinyin(word[k:]) for k in range(1, len(word)))


def _respell(name: str, rng: random.Random) -> str:
    """One word of 6+ letters spelt as another language or a transliteration writes it."""
    words = name.split()
    options = [i for i, w in enumerate(words) if len(w) >= 6 and w.isalpha() and not _pinyin(w.lower())]
    if not options:
        return name
    i = options[rng.randrange(len(options))]
    w = words[i]
    low = w.lower()
    rules = [r for r in _RESPELLINGS if r[0] in low[1:]]
    out = low
    for a, b in rng.sample(rules, min(len(rules), rng.randint(1, 2))):
        if a == "f" and "ff" in out:
            continue
        out = out[0] + out[1:].replace(a, b)
    if out == low and low[-1] == "e":
        out = low[:-1]  # "Textile" -> "Textil"
    words[i] = out.upper() if w.isupper() else out.capitalize() if w[:1].isupper() else out
    return " ".join(words)


# Widths of the name fields that cut names short: customs and EDI lines (35), older registers (30, 40),
# narrow spreadsheet or ERP columns (20, 25).
_FIELD_WIDTHS = (20, 25, 30, 35, 40)

_GROUP_WORDS = ("Group", "Holdings", "Industries", "Corporation", "Enterprises")
_GROUP_JOINS = (" - ", " ", " ", ": ", " / ")
_OPERATOR_WORDS = (*_GROUP_WORDS, "International", "Association", "Society", "Services", "Trust")


def group_prefix(name: str, rng: random.Random) -> str:
    """The site's name written after its group's or operator's name.

    As in "Hirdaramani Mercury", "MAS Active - Linea Intimo", "Chicago Commons Association - Paulo Freire".
    """
    group = _brand(rng, LATIN_SYL, 2, 3)
    r = rng.random()
    if r < 0.3:
        # A longer operator name: "Crystal International Group", "Easter Seals Society of Metropolitan Chicago".
        group = f"{group} {_brand(rng, LATIN_SYL, 2, 3)} {_pick(rng, _OPERATOR_WORDS)}"
        if rng.random() < 0.4:
            group = f"{group} of {_brand(rng, LATIN_SYL, 2, 3)}"
    elif r < 0.6:
        group = f"{group} {_pick(rng, _GROUP_WORDS)}"
    if rng.random() < 0.3:
        group = group.upper()
    return f"{group}{_pick(rng, _GROUP_JOINS)}{name}"


def _field_cut(name: str, rng: random.Random) -> str:
    """The name cut at a fixed field width, mid-word and legal form lost ("Saint Gobain Abrasives Shanghai C")."""
    words = name.split()
    widths = [w for w in _FIELD_WIDTHS if words and len(words[0]) + 4 <= w < len(name)]
    if not widths:
        return name
    w = widths[rng.randrange(len(widths))]
    return name[:w].rstrip(" ,.(&-")


def _branch(name: str, rng: random.Random) -> str:
    return f"{name} {_pick(rng, _BRANCH)}" if rng.random() < 0.7 else f"{name} - {_pick(rng, _BRANCH)}"


def _case(name: str, rng: random.Random) -> str:
    return name.upper() if rng.random() < 0.5 else name.lower()


def _punctuation(name: str, rng: random.Random) -> str:
    return (
        name.replace(" ", "  ", 1).replace(".", "", 2).replace(",", " ,")
        if rng.random() < 0.5
        else name + "."
    )


def _seat(name: str, rng: random.Random) -> str:
    """A seat or location after the name, as registers and patent offices write it ("..., Rotterdam, NL")."""
    place = _pick(rng, CN_CITIES) if rng.random() < 0.5 else _brand(rng, LATIN_SYL, 2, 3)
    r = rng.random()
    if r < 0.35:
        return f"{name}, {place}"
    if r < 0.5:  # "Du Pont de Nemours (Nederland) B.V.", "Sang Woo (Cambodia) Co Ltd"
        words = name.split()
        at = rng.randrange(1, len(words) + 1) if len(words) > 1 else 1
        return " ".join([*words[:at], f"({place})", *words[at:]])
    if r < 0.75:
        return f"{name}, {place}, {chr(65 + rng.randrange(26))}{chr(65 + rng.randrange(26))}"
    return f"{name} {place}"


def _article(name: str, rng: random.Random) -> str:
    """'The' added or dropped, '&' and 'and' swapped."""
    if " & " in name:
        return name.replace(" & ", " and ", 1)
    if " and " in name:
        return name.replace(" and ", " & ", 1)
    if name.lower().startswith("the "):
        return name[4:]
    return "The " + name


def _letter_spacing(name: str, rng: random.Random) -> str:
    """Letters spaced out, as some lists are typed or scanned ("m e r c u r y apparel", "appar e l")."""
    words = name.split()
    options = [i for i, w in enumerate(words) if len(w) >= 4 and w.isalpha()]
    if not options:
        return name
    i = int(_pick(rng, [str(o) for o in options]))
    w = words[i]
    if rng.random() < 0.5:
        words[i] = " ".join(w)
    else:  # only part of the word falls apart
        cut = rng.randrange(2, len(w) - 1)
        words[i] = w[:cut] + " " + " ".join(w[cut:])
    return " ".join(words)


def _scatter_spaces(name: str, rng: random.Random) -> str:
    """Spaces scattered inside words, as PDF or scan extraction leaves them ("m anu fac tu r i ng")."""
    p = rng.uniform(0.15, 0.4)
    out: list[str] = []
    for i, ch in enumerate(name):
        out.append(ch)
        if ch.isalpha() and i + 1 < len(name) and name[i + 1].isalpha() and rng.random() < p:
            out.append(" ")
    return "".join(out)


def _drop_legal(name: str, rng: random.Random) -> str:
    """The legal form left out altogether, as many supplier lists do."""
    for form in _ALL_LEGAL_LONGEST_FIRST:
        if name.endswith(form):
            return name[: -len(form)].rstrip(" ,")
    return name


_ALL_LEGAL_LONGEST_FIRST = sorted({f for g in _LEGAL_SWAPS for f in g if f}, key=len, reverse=True)


PERTURBATIONS: dict[str, Callable[[str, random.Random], str]] = {
    "legal_swap": _legal_swap,
    "seat": _seat,
    "article": _article,
    "letter_spacing": _letter_spacing,
    "scatter_spaces": _scatter_spaces,
    "drop_legal": _drop_legal,
    "abbreviate": _abbreviate,
    "split_syllables": _split_syllables,
    "typo": _typo,
    "field_cut": _field_cut,
    "reorder": _reorder,
    "inflect": _inflect,
    "respell": _respell,
    "drop_token": _drop_token,
    "branch": _branch,
    "case": _case,
    "punctuation": _punctuation,
}


_FORMAT_OPS = ("legal_swap", "case", "punctuation", "seat", "article", "drop_legal")


def perturb(name: str, rng: random.Random, *, n_ops: int | None = None) -> str:
    """A variant of ``name`` as another list would write it (1-3 random perturbations)."""
    ops = list(PERTURBATIONS)
    # Most real variants differ by formatting only (case, punctuation, legal form) or one edit.
    k = n_ops if n_ops is not None else rng.choice((0, 0, 1, 1, 1, 2, 2, 3))
    out = name
    if k == 0:
        for op in rng.sample(_FORMAT_OPS, rng.randint(1, 2)):
            out = PERTURBATIONS[op](out, rng)
    for op in rng.sample(ops, k):
        out = PERTURBATIONS[op](out, rng)
    return out if out.strip() else name


def perturb_address(
    address: str | None, rng: random.Random, *, same_site: bool = False, elsewhere: bool = True
) -> str | None:
    """The address as another list writes it: missing, abbreviated, partial, reordered or another site.

    With ``same_site`` the address is always there and always this site's, written another way; without
    ``elsewhere`` it may be missing but is never another address altogether.
    """
    if not address:
        return None
    if same_site:
        r = rng.uniform(0.40, 1.0)
    else:
        r = rng.random()
        if not elsewhere and 0.25 <= r < 0.40:
            r = rng.uniform(0.40, 1.0)
    if r < 0.25:
        return None
    parts = [p.strip() for p in address.split(",")]
    if r < 0.40:
        # Another address altogether (registered office instead of the factory, a moved site, another
        # list's way of writing it): only the city or nothing in common.
        if rng.random() < 0.5:
            return f"Room {rng.randint(100, 2999)}, {_brand(rng, LATIN_SYL)} Building, {parts[-1]}"
        return f"{_brand(rng, LATIN_SYL)} {_pick(rng, STREET_WORDS)} {rng.randint(1, 400)}"
    if r < 0.58 and len(parts) > 1:
        parts = parts[1:] if rng.random() < 0.6 else parts[:1]  # only the park/city, or only the street
    elif r < 0.70:
        rng.shuffle(parts)
    out = ", ".join(parts)
    for long, short in (
        ("Road", "Rd"),
        ("Street", "St."),
        ("Industrial Zone", "Ind. Zone"),
        ("No. ", "No."),
        ("Industrial Park", "Industrial Area"),
        ("Economic Development Zone", "EDZ"),
    ):
        if long in out and rng.random() < 0.5:
            out = out.replace(long, short)
    if rng.random() < 0.3:
        out = _typo(out, rng)
    if rng.random() < 0.2:
        out = out.upper()
    if rng.random() < 0.25:
        out = out.replace(", ", ",").replace(",", "")  # words glued where commas were, as some lists do
    return out
