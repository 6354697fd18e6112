"""The demo city loaded by ``make run`` (``manage.py setup_demo``).

滨江市 (region ``99``): six districts and counties, forty streets and townships, a few
communities; the hotline centre, the city government and its departments, the public utilities,
a government for each district and an office for each street; the bundled category tree; a duty
list that sends each class of request to its department and the street-level matters to the
street office of the street (一杆到底); one account per role; a dozen citizens.

The org tree and duty list go in through the CSV importers (``hotline.orgs.csvio``,
``hotline.taxonomy.importers``), so loading twice changes nothing the second time.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

from django.db import transaction

from hotline.core.csvio import write_csv
from hotline.orgs.csvio import DUTY_COLUMNS, REGION_COLUMNS, UNIT_COLUMNS, orgs_import


class Writer(Protocol):
    """Where progress goes (a command's ``self.stdout``, a ``StringIO``)."""

    def write(self, text: str, /) -> Any: ...


DEMO_PASSWORD = "Hotline#2026"  # noqa: S105 - published demo password, demo data only

# username, role, full name, unit code — one user per role.
DEMO_USERS = [
    ("agent_li", "agent", "李晓", "CENTRE"),
    ("agent_zhang", "agent", "张伟", "CENTRE"),
    ("supervisor_chen", "supervisor", "陈静", "CENTRE"),
    ("dispatcher_zhou", "dispatcher", "周敏", "CENTRE"),
    ("handler_wang", "handler", "王强", "ST-990101"),
    ("manager_sun", "unit_manager", "孙丽", "ST-990101"),
    ("leader_zhao", "leader", "赵刚", "DG-9901"),
    ("admin", "admin", "系统管理员", "CENTRE"),
]

CITY_CODE = "99"


CITY_NAME = "滨江市"

# District code, name, and its streets / townships in order (their codes are the district code
# plus two digits: 9901 → 990101, 990102…).
DISTRICTS: list[tuple[str, str, list[str]]] = [
    (
        "9901",
        "滨江区",
        ["江滨街道", "城东街道", "城西街道", "长河街道", "西兴街道", "浦沿街道", "望江街道", "白沙街道"],
    ),
    ("9902", "江北区", ["北岸街道", "庄桥街道", "甬江街道", "洪塘街道", "孔浦街道", "文教街道", "慈城镇"]),
    ("9903", "江南区", ["南湖街道", "梅园街道", "桃源街道", "石桥街道", "新塘街道", "南苑街道", "花港街道"]),
    ("9904", "高新区", ["科创街道", "智谷街道", "文昌街道", "云栖街道", "新城街道"]),
    ("9905", "临湖区", ["湖滨街道", "临湖街道", "东湖街道", "渔港镇", "柳岸街道", "芦荡镇"]),
    ("9906", "青山县", ["青山镇", "石门镇", "龙潭乡", "竹溪镇", "松岭乡", "白云镇", "桃花镇"]),
]

# Communities / villages: street code → names (codes: street code plus two digits).
COMMUNITIES: dict[str, list[str]] = {
    "990101": ["江滨社区", "滨河社区", "春江社区"],
    "990102": ["东苑社区", "新村社区"],
    "990601": ["青山村", "溪口村"],
}

# The hotline centre, the city government and its departments: code, name, short name, phone.
CENTRE = ("CENTRE", "滨江市12345政务服务便民热线中心", "12345热线", "0999-12345")
CITY_GOVERNMENT = ("GOV", "滨江市人民政府", "市政府", "0999-87000000")
CITY_DEPARTMENTS: list[tuple[str, str, str]] = [
    ("CD-GOVOFFICE", "市政府办公厅", "市府办"),
    ("CD-HOUSING", "市住房和城乡建设局", "市住建局"),
    ("CD-URBAN", "市城市管理局", "市城管局"),
    ("CD-ECOENV", "市生态环境局", "市生态环境局"),
    ("CD-MARKET", "市市场监督管理局", "市市场监管局"),
    ("CD-HRSS", "市人力资源和社会保障局", "市人社局"),
    ("CD-EDU", "市教育局", "市教育局"),
    ("CD-HEALTH", "市卫生健康委员会", "市卫健委"),
    ("CD-TRANSPORT", "市交通运输局", "市交通局"),
    ("CD-POLICE", "市公安局", "市公安局"),
    ("CD-LAND", "市自然资源和规划局", "市自然资源局"),
    ("CD-CIVIL", "市民政局", "市民政局"),
    ("CD-CULTURE", "市文化广电旅游局", "市文广旅局"),
    ("CD-COMMERCE", "市商务局", "市商务局"),
    ("CD-WATERRES", "市水利局", "市水利局"),
    ("CD-MEDINS", "市医疗保障局", "市医保局"),
    ("CD-EMERGENCY", "市应急管理局", "市应急局"),
    ("CD-AGRI", "市农业农村局", "市农业农村局"),
    ("CD-SCITECH", "市科学技术局", "市科技局"),
    ("CD-DRC", "市发展和改革委员会", "市发改委"),
    ("CD-DISCIPLINE", "市纪委监委", "市纪委监委"),
]
NOT_UNDER_GOVERNMENT = frozenset({"CD-DISCIPLINE"})
UTILITIES: list[tuple[str, str, str]] = [
    ("UT-WATER", "滨江市自来水有限公司", "自来水公司"),
    ("UT-GAS", "滨江燃气集团有限公司", "燃气集团"),
    ("UT-POWER", "国网滨江供电公司", "供电公司"),
    ("UT-HEAT", "滨江市热力有限公司", "热力公司"),
]

# The duty list. Every class (level 1) goes to a city department for the whole city …
DUTY_LEVEL1: dict[str, str] = {
    "城乡建设": "CD-HOUSING",
    "环境保护": "CD-ECOENV",
    "交通运输": "CD-TRANSPORT",
    "商贸旅游": "CD-COMMERCE",
    "劳动和社会保障": "CD-HRSS",
    "教育文体": "CD-EDU",
    "卫生计生": "CD-HEALTH",
    "政法": "CD-POLICE",
    "国土资源": "CD-LAND",
    "民政": "CD-CIVIL",
    "农村农业": "CD-AGRI",
    "科技与信息产业": "CD-SCITECH",
    "经济管理": "CD-DRC",
    "纪检监察": "CD-DISCIPLINE",
    "党务政务": "CD-GOVOFFICE",
}
# … some subclasses to a more fitting department …
DUTY_LEVEL2: dict[tuple[str, ...], str] = {
    ("城乡建设", "城市建设和市政管理"): "CD-URBAN",
    ("城乡建设", "城乡规划"): "CD-LAND",
    ("城乡建设", "安全生产"): "CD-EMERGENCY",
    ("经济管理", "安全生产"): "CD-EMERGENCY",
    ("商贸旅游", "市场监管"): "CD-MARKET",
    ("商贸旅游", "质监检验检疫"): "CD-MARKET",
    ("商贸旅游", "旅游管理"): "CD-CULTURE",
    ("卫生计生", "食品药品监管"): "CD-MARKET",
    ("教育文体", "文化"): "CD-CULTURE",
    ("教育文体", "文物管理"): "CD-CULTURE",
    ("农村农业", "水利水电"): "CD-WATERRES",
}
# … some leaves to the utilities and the medical insurance bureau, city-wide …
DUTY_LEVEL3: dict[tuple[str, ...], str] = {
    ("城乡建设", "城市建设和市政管理", "自来水供应"): "UT-WATER",
    ("城乡建设", "城市建设和市政管理", "燃气供应"): "UT-GAS",
    ("城乡建设", "城市建设和市政管理", "电力供应"): "UT-POWER",
    ("城乡建设", "城市建设和市政管理", "冬季采暖"): "UT-HEAT",
    ("劳动和社会保障", "城镇居民社会保险", "城镇居民医疗保险"): "CD-MEDINS",
    ("劳动和社会保障", "城镇居民社会保险", "新农村合作医疗"): "CD-MEDINS",
    ("劳动和社会保障", "城镇职工社会保险", "职工医疗保险"): "CD-MEDINS",
}
# … and the street-level matters to the street office of each street (and to the district
# government when only the district is known).
STREET_DUTIES: list[tuple[str, ...]] = [
    ("城乡建设", "城市建设和市政管理", name)
    for name in ("城管执法", "环境卫生", "小区管理", "园林绿化环卫", "园林绿化")
]

# Seed citizens: name, phone, address, region code. Created directly (there is no citizen service
# yet) with one audit row each, like every other change.
CITIZENS: list[tuple[str, str, str, str]] = [
    ("张伟", "13800990001", "江滨街道滨河路18号3幢201室", "99010101"),
    ("王芳", "13800990002", "江滨街道春江花园5幢1单元602室", "99010103"),
    ("李娜", "13800990003", "城东街道东苑小区12幢301室", "99010201"),
    ("刘洋", "13800990004", "城西街道文一路66号", "990103"),
    ("陈静", "13800990005", "北岸街道北岸新村7幢", "990201"),
    ("杨磊", "13800990006", "庄桥街道庄桥路120号", "990202"),
    ("赵敏", "13800990007", "南湖街道湖畔家园3幢502室", "990301"),
    ("黄勇", "13800990008", "梅园街道梅园路9号", "990302"),
    ("周杰", "13800990009", "科创街道创新大道1号", "990401"),
    ("吴霞", "13800990010", "湖滨街道临湖路33号", "990501"),
    ("徐强", "13800990011", "青山镇青山村溪口组12号", "99060101"),
    ("孙燕", "13800990012", "石门镇石门街45号", "990602"),
]


def _street_code(district_code: str, index: int) -> str:
    return f"{district_code}{index:02d}"


def _phone(seed: int) -> str:
    return f"0999-8{seed:07d}"


def demo_regions() -> list[tuple[Any, ...]]:
    """Rows of the regions CSV."""
    rows: list[tuple[Any, ...]] = [(CITY_CODE, CITY_NAME, "city", "", "1", 0)]
    for d_order, (d_code, d_name, streets) in enumerate(DISTRICTS, start=1):
        rows.append((d_code, d_name, "district", CITY_CODE, "1", d_order))
        for s_order, s_name in enumerate(streets, start=1):
            s_code = _street_code(d_code, s_order)
            rows.append((s_code, s_name, "street", d_code, "1", s_order))
            for c_order, c_name in enumerate(COMMUNITIES.get(s_code, []), start=1):
                rows.append((f"{s_code}{c_order:02d}", c_name, "community", s_code, "1", c_order))
    return rows


def demo_units() -> list[tuple[Any, ...]]:
    """Rows of the units CSV, in the order of ``UNIT_COLUMNS``."""
    c_code, c_name, c_short, c_phone = CENTRE
    g_code, g_name, g_short, g_phone = CITY_GOVERNMENT
    rows: list[tuple[Any, ...]] = [
        (c_code, c_name, c_short, "centre", CITY_CODE, "", c_phone, "hotline@binjiang.example", "1", 0),
        (g_code, g_name, g_short, "other", CITY_CODE, "", g_phone, "", "1", 1),
    ]
    for order, (code, name, short) in enumerate(CITY_DEPARTMENTS, start=1):
        # The discipline commission is a party organ, not a department of the government.
        parent = "" if code in NOT_UNDER_GOVERNMENT else g_code
        rows.append(
            (code, name, short, "city_department", CITY_CODE, parent, _phone(100 + order), "", "1", order)
        )
    for order, (code, name, short) in enumerate(UTILITIES, start=1):
        rows.append((code, name, short, "utility", CITY_CODE, "", _phone(200 + order), "", "1", 100 + order))
    for d_order, (d_code, d_name, streets) in enumerate(DISTRICTS, start=1):
        dg_code = f"DG-{d_code}"
        dg_name = f"{d_name}人民政府"
        dg_phone = _phone(d_order * 1000)
        rows.append(
            (dg_code, dg_name, f"{d_name}政府", "district_government", d_code, "", dg_phone, "", "1", d_order)
        )
        for s_order, s_name in enumerate(streets, start=1):
            s_code = _street_code(d_code, s_order)
            office = f"{s_name}办事处" if s_name.endswith("街道") else f"{s_name}人民政府"
            phone = _phone(d_order * 1000 + s_order)
            rows.append(
                (f"ST-{s_code}", office, s_name, "street_office", s_code, dg_code, phone, "", "1", s_order)
            )
    return rows


def demo_duties(category_codes: dict[tuple[str, ...], str]) -> list[tuple[str, str, str, str]]:
    """Rows of the duties CSV; ``category_codes`` maps a category's path of names to its code."""
    rows: list[tuple[str, str, str, str]] = []
    for l1, unit in DUTY_LEVEL1.items():
        rows.append((category_codes[(l1,)], CITY_CODE, unit, ""))
    for key, unit in DUTY_LEVEL2.items():
        rows.append((category_codes[key], CITY_CODE, unit, ""))
    for key, unit in DUTY_LEVEL3.items():
        rows.append((category_codes[key], CITY_CODE, unit, ""))
    for key in STREET_DUTIES:
        code = category_codes[key]
        for d_code, _d_name, streets in DISTRICTS:
            rows.append((code, d_code, f"DG-{d_code}", "属地管理"))
            for s_order in range(1, len(streets) + 1):
                s_code = _street_code(d_code, s_order)
                rows.append((code, s_code, f"ST-{s_code}", "一杆到底"))
    return rows


def _csv(columns: Iterable[str], rows: Iterable[Iterable[Any]]) -> str:
    return write_csv(list(columns), [list(r) for r in rows])


def _id_number(region_code: str, serial: int) -> str:
    """A made-up 18-digit ID number with a correct check digit (GB 11643)."""
    area = (region_code + "0000")[:6]
    body = f"{area}19{70 + serial % 30:02d}{1 + serial % 12:02d}{1 + serial % 28:02d}{100 + serial:03d}"
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    check = "10X98765432"[sum(int(d) * w for d, w in zip(body, weights, strict=True)) % 11]
    return body + check


def _create_users(out: Writer | None) -> int:
    from hotline.accounts.models import User
    from hotline.accounts.services import user_create
    from hotline.orgs.models import Unit

    created = 0
    for username, role, full_name, unit_code in DEMO_USERS:
        if User.objects.filter(username=username).exists():
            continue
        unit = Unit.objects.get(code=unit_code)
        user_create(
            actor=None, username=username, password=DEMO_PASSWORD, role=role, unit=unit, full_name=full_name
        )
        created += 1
        if out is not None:
            out.write(f"  user {username} ({role}) created\n")
    return created


def _create_citizens() -> int:
    from hotline.audit.models import AuditAction
    from hotline.audit.services import audit_record, snapshot
    from hotline.citizens.models import Citizen
    from hotline.orgs.models import Region

    regions = Region.objects.in_bulk(field_name="code")
    created = 0
    for serial, (name, phone, address, region_code) in enumerate(CITIZENS, start=1):
        if Citizen.objects.filter(phone=phone).exists():
            continue
        region = regions[region_code]
        citizen = Citizen.objects.create(
            name=name,
            phone=phone,
            id_number=_id_number(region_code, serial),
            address=f"{CITY_NAME}{address}",
            region=region,
        )
        audit_record(action=AuditAction.CREATE, obj=citizen, after=snapshot(citizen), note="demo data")
        created += 1
    return created


@transaction.atomic
def load_demo(*, stdout: Writer | None = None, history: bool = True) -> dict[str, int]:
    """Load (or complete) the demo city. Idempotent: a second run changes nothing. With ``history``
    also some 75 days of past orders and calls, so that the reports have figures
    (``hotline.core.demo_history``).

    Returns what was created or updated, by kind.
    """
    from hotline.callcenter.demo import seed_callcenter
    from hotline.core.demo_history import load_demo_history
    from hotline.core.demo_orders import load_demo_orders
    from hotline.taxonomy.importers import taxonomy_import_bundled
    from hotline.taxonomy.models import Category

    note = "demo data"
    orgs = orgs_import(
        regions=_csv(REGION_COLUMNS, demo_regions()),
        units=_csv(UNIT_COLUMNS, demo_units()),
        note=note,
    )
    taxonomy = taxonomy_import_bundled(note=note)
    names: dict[int, tuple[str, ...]] = {}
    codes: dict[tuple[str, ...], str] = {}
    for category in Category.objects.order_by("level", "code"):
        parent_names = names.get(category.parent_id, ()) if category.parent_id else ()
        names[category.pk] = (*parent_names, category.name)
        codes[names[category.pk]] = category.code
    duties = orgs_import(duties=_csv(DUTY_COLUMNS, demo_duties(codes)), note=note)
    from hotline.workcalendar.services import deadline_rules_ensure_defaults

    rules = deadline_rules_ensure_defaults(note=note)  # the 24-hour rules of the utility categories
    result = {
        "regions": _changed(orgs, "regions"),
        "units": _changed(orgs, "units"),
        "categories": taxonomy.changed,
        "duties": duties.changed,
        "deadline_rules": rules,
        "users": _create_users(stdout),
        "citizens": _create_citizens(),
        "orders": load_demo_orders(),
        "contact_centre": seed_callcenter(),
    }
    if history:  # needs the orders, queues and agents above
        result["history"] = sum(load_demo_history().values())
    if stdout is not None:
        for kind, count in result.items():
            stdout.write(f"  {kind}: {count} created or updated\n")
    return result


def _changed(report: Any, table: str) -> int:
    counts = report.tables.get(table)
    return counts.created + counts.updated if counts else 0
