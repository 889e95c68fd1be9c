"""A seeded, generated PII test set: each case is a sentence and the spans (kind, start, end) a
redactor must cover, across the writing forms of service calls (plain, spaced, dashed, slashed,
dotted, full-width, Chinese spoken digits with and without commas, glued to letters or Chinese,
ASR-style odd splits, international formats) plus hard negatives that must stay readable
(order and tracking numbers, prices, dates, times, company hotlines, model numbers, quantities,
numbers that fail their checksum).

Decisions the expected spans encode: company hotlines (400 / 800 numbers, 12315, 10086, 95588)
are not personal data; a number after an order / tracking cue (订单号, 运单号, order number) is
an order number even when it would pass as a card or mobile number; a local 7-8 digit number,
or a foreign national number without its country code, is a phone only after a phone cue.

Seeds: ``DEV_SEEDS`` were used while tuning ``pipeline.pii``; figures are reported on
``HELD_OUT_SEEDS`` (bench/pii.py) and the tests assert on ``TEST_SEED``.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import phonenumbers

DEV_SEEDS = tuple(range(0, 5))
HELD_OUT_SEEDS = tuple(range(100, 105))
TEST_SEED = 2026
KINDS = ("PHONE", "ID", "CARD", "EMAIL", "ADDRESS")


@dataclass(frozen=True)
class Case:
    text: str
    spans: tuple[tuple[str, int, int], ...]  # (kind, start, end) in text
    form: str  # kind/form, or NEG/form for a hard negative

    def substrings(self) -> list[tuple[str, str]]:
        return [(kind, self.text[a:b]) for kind, a, b in self.spans]


Part = str | tuple[str, str]  # plain text, or (kind, PII text)


def build(parts: list[Part], form: str) -> Case:
    text, spans = "", []
    for part in parts:
        if isinstance(part, tuple):
            spans.append((part[0], len(text), len(text) + len(part[1])))
            text += part[1]
        else:
            text += part
    return Case(text, tuple(spans), form)


# ---------------------------------------------------------------- digit writing forms

_CN = "零一二三四五六七八九"
_SPOKEN = {"0": "零洞", "1": "一幺", "7": "七拐"}


def spoken(rng: random.Random, digits: str) -> str:
    """Chinese digits as read aloud: 1 as 一 or 幺, 0 as 零 or 洞, 7 as 七 or 拐 (one choice a
    number, as a speaker is consistent)."""
    pick = {d: rng.choice(_SPOKEN[d]) for d in _SPOKEN}
    return "".join(pick.get(d, _CN[int(d)]) if d.isdigit() else d for d in digits)


def full_width(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else "\u3000" if c == " " else c
                   for c in text)


def split(digits: str, sizes: list[int]) -> list[str]:
    out, i = [], 0
    for size in sizes:
        out.append(digits[i:i + size])
        i += size
    if i < len(digits):
        out.append(digits[i:])
    return [g for g in out if g]


def odd_sizes(rng: random.Random, n: int) -> list[int]:
    """ASR-style grouping: numbers split where the speaker paused."""
    sizes = []
    while sum(sizes) < n:
        sizes.append(rng.randint(1, 5))
    return sizes


STYLES = ("plain", "space", "dash", "dot", "slash", "comma", "fullwidth", "spoken",
          "spoken_comma", "odd", "mixed")


def write_number(rng: random.Random, digits: str, sizes: list[int], style: str) -> str:
    groups = split(digits, sizes)
    if style == "plain":
        return digits
    if style == "space":
        return " ".join(groups)
    if style == "dash":
        return "-".join(groups)
    if style == "dot":
        return ".".join(groups)
    if style == "slash":
        return "/".join(groups)
    if style == "comma":
        return rng.choice(["，", ",", "、", ", "]).join(groups)
    if style == "fullwidth":
        return full_width(rng.choice([" ", "-", ""]).join(groups))
    if style == "spoken":
        return spoken(rng, rng.choice(["", " "]).join(groups))
    if style == "spoken_comma":
        return spoken(rng, rng.choice(["，", "、"]).join(groups))
    if style == "odd":
        return " ".join(split(digits, odd_sizes(rng, len(digits))))
    # mixed separators, as a transcript sometimes has them
    seps = [rng.choice([" ", "-", ".", " - ", "/"]) for _ in groups[1:]]
    return groups[0] + "".join(s + g for s, g in zip(seps, groups[1:], strict=True))


# ---------------------------------------------------------------- values

_AREAS = ("110105", "310104", "440305", "510107", "330106", "420111", "370202", "320102",
          "500103", "610113", "230103", "450102", "340104", "350203", "130102", "640104")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def resident_id(rng: random.Random, old: bool = False) -> str:
    area = rng.choice(_AREAS)
    year, month, day = rng.randint(1940, 2005), rng.randint(1, 12), rng.randint(1, 28)
    if old:
        return f"{area}{year % 100:02d}{month:02d}{day:02d}{rng.randint(0, 999):03d}"
    body = f"{area}{year}{month:02d}{day:02d}{rng.randint(0, 999):03d}"
    total = sum(int(d) * w for d, w in zip(body, _ID_WEIGHTS, strict=True))
    return body + "10X98765432"[total % 11]


def with_luhn(body: str) -> str:
    for check in "0123456789":
        digits = body + check
        total = 0
        for i, ch in enumerate(reversed(digits)):
            d = int(ch) * (2 if i % 2 else 1)
            total += d - 9 if d > 9 else d
        if total % 10 == 0:
            return digits
    raise AssertionError(body)


def card(rng: random.Random) -> tuple[str, str]:
    scheme = rng.choice(["unionpay", "unionpay19", "visa", "mastercard", "mastercard2", "amex",
                         "jcb"])
    prefix, length = {
        "unionpay": (rng.choice(["622202", "621700", "622848", "623668"]), 16),
        "unionpay19": (rng.choice(["622202", "621226", "622848"]), 19),
        "visa": ("4" + str(rng.randint(10000, 99999)), 16),
        "mastercard": (str(rng.randint(51, 55)) + str(rng.randint(1000, 9999)), 16),
        "mastercard2": (str(rng.randint(2221, 2720)) + str(rng.randint(10, 99)), 16),
        "amex": (rng.choice(["34", "37"]) + str(rng.randint(1000, 9999)), 15),
        "jcb": (str(rng.randint(3528, 3589)) + str(rng.randint(10, 99)), 16),
    }[scheme]
    body = prefix + "".join(rng.choice("0123456789") for _ in range(length - len(prefix) - 1))
    return with_luhn(body), scheme


def cn_mobile(rng: random.Random) -> str:
    return rng.choice(["13", "15", "17", "18", "19", "16", "14"]) + str(rng.randint(0, 9)) \
        + f"{rng.randint(0, 10**8 - 1):08d}"


_REGIONS = ("HK", "SG", "MY", "ID", "TH", "VN", "PH", "US", "TW")


def foreign_number(rng: random.Random, region: str) -> phonenumbers.PhoneNumber:
    example = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE)
    national = str(example.national_number)
    while True:  # keep the operator prefix, vary the subscriber digits until valid
        keep = max(2, len(national) - 6)
        tail = "".join(rng.choice("0123456789") for _ in national[keep:])
        number = phonenumbers.parse(f"+{example.country_code}{national[:keep]}{tail}")
        if phonenumbers.is_valid_number(number):
            return number


# ---------------------------------------------------------------- carriers

# (template, the template has a phone cue) per language
PHONE_CARRIERS = [
    ("我的手机号是{}，麻烦回电", True), ("你打{}找我", True), ("联系电话{}", True),
    ("嗯，我电话是{}对吧", True), ("拨{}就行", True), ("您记一下，{}，这是我的号", False),
    ("就是{}这个号", False), ("手机：{}", True), ("我手机号码是{}嗯对", True),
    ("call me back on {} please", True), ("my number is {}", True),
    ("you can reach me at {} anytime", True), ("phone: {}", True), ("it's {}, thanks", False),
    ("nombor telefon saya {}", True), ("hubungi saya di nomor {}", True),
    ("số điện thoại của tôi là {}", True), ("เบอร์โทร {} ครับ", True),
]
ID_CARRIERS = ["身份证号{}", "我的身份证是{}", "证件号码是{}对吧", "my ID number is {}",
               "IC number {}", "身份证号码：{}，核对一下", "nomor KTP saya {}", "số CCCD {}"]
CARD_CARRIERS = ["退到这张卡{}上", "卡号是{}", "refund to card {} thanks", "银行卡{}",
                 "my card number is {}", "钱退到{}吧", "信用卡号码{}，谢谢", "it's {}, the visa"]
EMAIL_CARRIERS = ["邮箱是{}", "send it to {} please", "我的邮箱{}，发给我", "email saya {}",
                  "发到{}就行", "my email is {}.", "邮件地址：{}"]
ADDRESS_CARRIERS = {
    "zh": ["寄到{}吧", "地址是{}，谢谢", "我住在{}", "送到{}", "收货地址改成{}", "就是{}那里"],
    "en": ["ship it to {} please", "I live at {}", "my address is {}.", "send it to {}"],
    "ms": ["alamat saya {}", "hantar ke {} ya"], "id": ["alamat saya di {}", "kirim ke {}"],
    "vi": ["địa chỉ: {}", "giao đến {} nhé"], "th": ["ที่อยู่ {} ค่ะ", "ส่งไปที่ {}"],
}


# ---------------------------------------------------------------- one case per kind

def phone_case(rng: random.Random) -> tuple[str, str, bool]:
    """(text, form, needs a phone cue)."""
    kind = rng.choice(["mobile"] * 5 + ["prefixed", "landline", "local", "intl", "intl",
                                        "national", "glued"])
    if kind == "mobile":
        style = rng.choice(STYLES)
        sizes = rng.choice([[3, 4, 4], [3, 4, 4], [4, 4, 3], [3, 3, 5]])
        return write_number(rng, cn_mobile(rng), sizes, style), f"mobile/{style}", False
    if kind == "prefixed":
        prefix = rng.choice(["+86 ", "+86", "0086 ", "86 ", "(+86) ", "+86-", "＋86 "])
        style = rng.choice(["plain", "space", "dash"])
        return prefix + write_number(rng, cn_mobile(rng), [3, 4, 4], style), "mobile/prefixed", \
            False
    if kind == "landline":
        area = rng.choice(["010", "021", "020", "0755", "0571", "028", "0512"])
        local = str(rng.randint(2, 8)) + f"{rng.randint(0, 10**7 - 1):07d}"
        form = rng.choice(["({}){} {}", "{}-{}{}", "{} {} {}", "（{}）{}-{}", "+86 {} {} {}"])
        if form.startswith("+86"):
            area = area[1:]
        return form.format(area, local[:4], local[4:]), "landline", False
    if kind == "local":  # no area code: a phone only after a cue
        local = str(rng.randint(2, 8)) + f"{rng.randint(0, 10**7 - 1):07d}"
        return rng.choice([local, f"{local[:4]} {local[4:]}", f"{local[:4]}-{local[4:]}"]), \
            "local", True
    if kind == "glued":  # the cue stays readable, the number is the PII: Tel[PHONE]
        return cn_mobile(rng), "glued", False
    region = rng.choice(_REGIONS)
    number = foreign_number(rng, region)
    if kind == "intl":
        text = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
        text = rng.choice([text, text.replace(" ", ""), text.replace(" ", "-", 1)])
        return text, f"intl/{region}", False
    text = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    trunk = text.lstrip("(").startswith("0")
    return text, f"national/{region}", not trunk and not text.startswith("(")


def id_case(rng: random.Random) -> tuple[str, str]:
    old = rng.random() < 0.2
    digits = resident_id(rng, old)
    style = rng.choice(["plain", "plain", "space", "glued", "fullwidth", "spoken", "lower",
                        "dash"])
    if style == "space":
        return " ".join(split(digits, [6, 6, 3] if old else [6, 8, 4])), "ID/space"
    if style == "dash":
        return "-".join(split(digits, [6, 6, 3] if old else [6, 8, 4])), "ID/dash"
    if style == "fullwidth":
        return full_width(digits), "ID/fullwidth"
    if style == "spoken":
        return spoken(rng, digits), "ID/spoken"
    if style == "lower":
        return digits.lower(), "ID/lower"
    return digits, f"ID/{style}{'/15' if old else ''}"


def card_case(rng: random.Random) -> tuple[str, str]:
    digits, scheme = card(rng)
    style = rng.choice(["plain", "space", "dash", "fullwidth", "spoken", "spoken_comma"])
    sizes = [4, 6, 5] if scheme == "amex" else [4, 4, 4, 4, 3]
    return write_number(rng, digits, sizes, style), f"CARD/{scheme}/{style}"


_LOCALS = ("li.wei", "zhang_san88", "buyer+qa", "wang.fang2024", "SupportTeam", "chen-hui",
           "tan.ahmad", "nguyen.van.a", "somchai99", "x.y.z")
_LOCALS_CJK = ("张三", "李小龙", "王芳2024", "客服部")
_DOMAINS = ("qq.com", "163.com", "gmail.com", "outlook.com", "yahoo.com.sg", "company.com.my",
            "mail.co.id", "fpt.vn", "hotmail.co.th", "sina.cn")


# E-mail forms that spell out the @ and the dots: form → (at, dot).
_SPELLED_AT = {"spelled": (" at ", " dot "), "spelled_caps": (" AT ", " DOT "),
               "bracket": ("[at]", "[dot]"), "chinese": ("艾特", "点")}


def email_case(rng: random.Random) -> tuple[str, str]:
    form = rng.choice(["plain", "plain", "cjk", "fullwidth_at", "fullwidth_dot", "spelled",
                       "spelled_caps", "bracket", "paren", "chinese", "upper"])
    local = rng.choice(_LOCALS_CJK if form == "cjk" else _LOCALS)
    domain = rng.choice(_DOMAINS)
    name, _, tld = domain.partition(".")
    if form == "fullwidth_at":
        return f"{local}＠{domain}", f"EMAIL/{form}"
    if form == "fullwidth_dot":
        return f"{local}＠{domain.replace('.', '．')}", f"EMAIL/{form}"
    if form in _SPELLED_AT:
        at, dot = _SPELLED_AT[form]
        return f"{local}{at}{name}{dot}{tld.replace('.', dot)}", f"EMAIL/{form}"
    if form == "paren":
        return f"{local}(at){domain}", f"EMAIL/{form}"
    if form == "upper":
        return f"{local.upper()}@{domain.upper()}", f"EMAIL/{form}"
    return f"{local}@{domain}", f"EMAIL/{form}"


_ADMINS = ("浙江省杭州市西湖区", "上海市浦东新区", "广东省深圳市南山区", "北京市朝阳区",
           "江苏省苏州市", "四川省成都市武侯区", "", "", "")
_ROADS = ("文三路", "世纪大道", "科技园路", "建国路", "人民路", "南京东路", "解放大街",
          "中山北路二段")
_ESTATES = ("幸福小区", "阳光花园", "金色家园", "碧桂园", "万科城市花园", "翠苑", "东方公寓",
            "国贸大厦", "王家村", "锦绣华庭", "丽景苑")


def _units(rng: random.Random) -> str:
    b, u, r = rng.randint(1, 30), rng.randint(1, 6), rng.randint(1, 33) * 100 + rng.randint(1, 4)
    return rng.choice([f"{b}栋{u}单元{r}室", f"{b}号楼{r}室", f"{'ABCD'[u % 4]}座{r}",
                       f"{b}幢{u}单元{r}", f"{b}-{u}-{r}", f"{b}栋{r}室", f"{b}号楼{u}单元{r}"])


def address_case(rng: random.Random) -> tuple[str, str, str]:
    """(text, form, language of the carrier)."""
    lang = rng.choice(["zh"] * 6 + ["en", "en", "ms", "id", "vi", "th"])
    if lang == "zh":
        form = rng.choice(["road", "road_units", "estate", "admin_estate", "units_only"])
        num = rng.randint(1, 999)
        if form == "road":
            return f"{rng.choice(_ADMINS)}{rng.choice(_ROADS)}{num}号", "ADDRESS/zh/road", lang
        if form == "road_units":
            return (f"{rng.choice(_ADMINS)}{rng.choice(_ROADS)}{num}号{rng.choice(_ESTATES)}"
                    f"{_units(rng)}", "ADDRESS/zh/road_units", lang)
        if form == "units_only":
            b, u, r = rng.randint(1, 30), rng.randint(1, 6), rng.randint(101, 3304)
            return f"{b}栋{u}单元{r}室", "ADDRESS/zh/units_only", lang
        admin = rng.choice(_ADMINS) if form == "admin_estate" else ""
        return f"{admin}{rng.choice(_ESTATES)}{_units(rng)}", f"ADDRESS/zh/{form}", lang
    n = rng.randint(1, 999)
    street = {
        "en": [f"{n} Baker Street", f"{n}B King Road", f"{n} Orchard Road #0{n % 9 + 1}-{n % 50}",
               f"{n} Amphitheatre Parkway", f"{n} Collins Street, Apt {n % 20 + 1}",
               f"PO Box {rng.randint(1, 9999)}", f"P.O. Box {rng.randint(1, 9999)}"],
        "ms": [f"No. {n}, Jalan Ampang", f"Lot {n} Jalan Tun Razak", f"No {n} Jalan Bukit Bintang"],
        "id": [f"Jl. Sudirman No. {n}", f"Jalan Merdeka No. {n}", f"Jl. Gatot Subroto No {n}"],
        "vi": [f"{n} Đường Lê Lợi", f"số {n} đường Nguyễn Huệ",
               f"{n}/{n % 20 + 1} Đường Hai Bà Trưng"],
        "th": [f"{n}/{n % 9 + 1} ถนนสุขุมวิท", f"{n} ซอยทองหล่อ", f"{n} Soi Sukhumvit {n % 60 + 1}"],
    }[lang]
    return rng.choice(street), f"ADDRESS/{lang}", lang


# ---------------------------------------------------------------- hard negatives

def _digits(rng: random.Random, n: int, first: str = "123456789") -> str:
    return rng.choice(first) + "".join(rng.choice("0123456789") for _ in range(n - 1))


def _luhn_failing(rng: random.Random) -> str:
    good = with_luhn(rng.choice(["622202", "436742", "524047"]) + _digits(rng, 9, "0123456789"))
    return good[:-1] + str((int(good[-1]) + rng.randint(1, 9)) % 10)


def negative(rng: random.Random) -> tuple[str, str]:
    makers: list[Callable[[], tuple[str, str]]] = [
        lambda: (f"订单号 {rng.choice(['2026112', '2025093'])}{_digits(rng, 9)}", "order16"),
        lambda: (f"你的订单号是{with_luhn('4' + _digits(rng, 14, '0123456789'))}对吧",
                 "order_luhn"),
        lambda: (f"订单号{cn_mobile(rng)}，我查一下", "order_mobile_like"),
        lambda: (f"order number {_digits(rng, rng.randint(12, 19))} please", "order_en"),
        lambda: (f"快递单号{rng.choice(['SF', 'YT', 'JD', 'ZTO'])}{_digits(rng, 12)}", "tracking"),
        lambda: (f"运单号 {rng.choice(['773', '462', '300'])}{_digits(rng, 12)}", "waybill"),
        lambda: (f"物流单号 SF{_digits(rng, 10)}", "tracking_sf"),
        lambda: (f"tracking number 1Z{_digits(rng, 6)}AA{_digits(rng, 8)}", "tracking_ups"),
        lambda: (rng.choice(["一共¥1,299.00", "价格是￥12,345.50", "RM 1,299.00 sahaja",
                             "Rp 1.299.000 ya", "it was $1,299.99", "退款3000元，运费12元",
                             f"金额 {rng.randint(1, 99)},{rng.randint(100, 999)},"
                             f"{rng.randint(100, 999)}.00元"]), "price"),
        lambda: (rng.choice(["2026-11-20", "2026年11月20日", "2026/11/20", "20/11/2026",
                             "2026.11.20", "2026-11-20 14:30:00"]) + rng.choice(
                                 ["下的单", " 发的货", "那天", " was the date"]), "date"),
        lambda: (rng.choice(["下午三点半打过来", "14:30 回电", "at 10:45 am", "明天上午9:00"]),
                 "time"),
        lambda: (rng.choice(["我要打12315投诉", "打10086问过了", "拨打95588", "拨打9600169",
                             "客服热线400-800-8888", "call 400 820 8820", "热线4008-123-456",
                             "打800-820-8820", "0755-10000是什么号"]),
                 "hotline"),
        lambda: (rng.choice(["型号 XR-2000-1234", "iPhone 15 Pro 256GB", "显卡 RTX4090",
                             "型号是KFR-35GW/BpR3DPA1", "model SM-G9910 128GB",
                             "序列号C02XG1JHJG5H"]),
                 "model"),
        lambda: (rng.choice(["买了3件", "两百个", "第12345号", "退了五百块", "等了三十分钟",
                             "一共1200000元", "共计 3,500 件"]), "quantity"),
        lambda: (f"就是{_luhn_failing(rng)}这个", "luhn_failing"),
        lambda: (f"这串{_digits(rng, 18)}不对", "id_failing"),
        lambda: (rng.choice(["我知道了，一路顺风，去逛街", "三倍赔偿，就是九百块", "我们在路上了",
                             "我去超市买东西的路上", "第一次打电话", "I'll be at home at 5",
                             "see you at the office", "call me at 5 pm", "我在市区的小区门口",
                             "一二三四五六七", "ok at 3 dot", "buy it at lashou.com",
                             "@美团外卖 @Meitu.com 客服", "拨打时间2016-01-03 15：30"]), "words"),
        lambda: (f"发票号码 {_digits(rng, 8)}", "invoice"),
        lambda: (f"版本 {rng.randint(1, 9)}.{rng.randint(0, 9)}.{rng.randint(0, 99)}", "version"),
    ]
    text, form = rng.choice(makers)()
    return text, f"NEG/{form}"


# ---------------------------------------------------------------- the set

def _positive(rng: random.Random) -> tuple[list[Part], str]:
    kind = rng.choice(["PHONE"] * 3 + ["ID", "ID", "CARD", "CARD", "EMAIL", "EMAIL", "ADDRESS",
                                       "ADDRESS", "ADDRESS"])
    if kind == "PHONE":
        value, form, needs_cue = phone_case(rng)
        carriers = [t for t, cue in PHONE_CARRIERS if cue or not needs_cue]
        template, form = rng.choice(carriers), f"PHONE/{form}"
        if form == "PHONE/glued":
            lead = rng.choice(["Tel", "TEL:", "tel.", "Phone", "Mobile", "HP", "WA"])
            template = template.replace("{}", lead + "{}")
    elif kind == "ID":
        (value, form), template = id_case(rng), rng.choice(ID_CARRIERS)
        if form == "ID/glued":
            template = rng.choice(["我的ID{}", "ID{}", "身份证ID{}"])
    elif kind == "CARD":
        (value, form), template = card_case(rng), rng.choice(CARD_CARRIERS)
    elif kind == "EMAIL":
        (value, form), template = email_case(rng), rng.choice(EMAIL_CARRIERS)
    else:
        value, form, lang = address_case(rng)
        template = rng.choice(ADDRESS_CARRIERS[lang])
    before, after = template.split("{}")
    return [before, (kind, value), after], form


def cases(seed: int, n: int = 600) -> list[Case]:
    """``n`` cases: ~78 % with PII (some with two values), the rest hard negatives."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        roll = rng.random()
        if roll < 0.22:
            text, form = negative(rng)
            out.append(build([text], form))
        elif roll < 0.34:  # two values in one turn, or PII next to a hard negative
            first, form = _positive(rng)
            second, _ = _positive(rng) if rng.random() < 0.6 else ([negative(rng)[0]], "")
            out.append(build([*first, rng.choice(["，", "，还有", ", and ", "；"]), *second],
                             f"{form}+mixed"))
        else:
            parts, form = _positive(rng)
            out.append(build(parts, form))
    return out


@cache
def adversarial(size: int = 200_000) -> dict[str, str]:
    """Pathological inputs for the linear-time check, each ``size`` characters."""
    rng = random.Random(0)
    shapes = {
        "email_local_run": "a" * size,
        "email_dots_ats": ("a." * (size // 2)),
        "email_at_run": "a@" * (size // 2),
        "email_almost": ("ab.cd@ef" * (size // 8)),
        "digits_separators": "".join(rng.choice("0123456789") + rng.choice(" -./,")
                                     for _ in range(size // 2)),
        "digits_only": "".join(rng.choice("0123456789") for _ in range(size)),
        "digit_space": "1 " * (size // 2),
        "plus_groups": "+1 " * (size // 3),
        "cjk_digits": "".join(rng.choice("一二三四五六七八九零幺，") for _ in range(size)),
        "cjk_text": "我的邮箱是张三李四" * (size // 9),
        "address_like": "幸福小区5栋2单元" * (size // 9),
        "cue_digits": "电话12345678" * (size // 10),
        "mixed": "".join(rng.choice("a@.1 -一X区路号栋 at dot") for _ in range(size)),
    }
    return {name: text[:size] for name, text in shapes.items()}
