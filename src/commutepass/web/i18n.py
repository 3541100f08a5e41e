"""The pages' own words in Chinese (default) and English. Decision texts, reasons and remedies
come from the domain's reason catalog, which is bilingual already."""

from __future__ import annotations

from collections.abc import Callable

from starlette.requests import Request

LANGS = ("zh", "en")
DEFAULT_LANG = "zh"
LANG_COOKIE = "commutepass_lang"

TEXTS: dict[str, tuple[str, str]] = {
    "app.name": ("京津冀通勤通行", "commutepass"),
    "app.tagline": (
        "进京通勤：适用什么、为什么、现在怎么办",
        "Entering Beijing to work: what applies, why, and what to do now",
    ),
    "nav.home": ("首页", "Home"),
    "nav.citizen": ("我的健康码", "My health code"),
    "nav.checkpoint": ("检查站", "Checkpoint"),
    "nav.admin_risk": ("风险地区", "Risk areas"),
    "nav.admin_policies": ("政策版本", "Policy versions"),
    "nav.analyst": ("数据看板", "Dashboard"),
    "nav.skip": ("跳到正文", "Skip to content"),
    "lang.switch": ("English", "中文"),
    "home.roles": ("按角色进入", "Pages by role"),
    "home.citizen": (
        "市民：健康码、通勤标识、弹窗原因与办法",
        "Citizens: health code, commuter badge, pop-ups",
    ),
    "home.checkpoint": (
        "检查站民警：刷证件，立即看结论",
        "Checkpoint officers: swipe an ID, see the verdict",
    ),
    "home.admin": ("管理员：风险地区、政策版本", "Admins: risk areas, policy versions"),
    "home.analyst": (
        "分析人员：汇总数据（不含个人记录）",
        "Analysts: aggregates only, never a person's rows",
    ),
    "field.id_number": ("身份证号码", "ID number"),
    "field.id_or_code": ("身份证号码或健康码", "ID number or health code"),
    "field.site": ("检查站", "Checkpoint"),
    "field.mode": ("通行方式", "Mode"),
    "mode.road": ("公路", "Road"),
    "mode.rail": ("铁路", "Rail"),
    "field.no_smartphone": ("无智能手机（老人、儿童等）", "No smartphone (elderly, children…)"),
    "field.companions": (
        "同行成人身份证号码（婴幼儿，空格分隔）",
        "Adult companions' ID numbers (infants; separated by spaces)",
    ),
    "action.check": ("核验", "Check"),
    "action.show": ("查询", "Show"),
    "action.add": ("添加", "Add"),
    "action.end": ("结束", "End"),
    "action.close": ("知道了", "Got it"),
    "error.title": ("输入有误", "Please correct the input"),
    "console.title": ("检查站核验台", "Checkpoint console"),
    "console.keys": (
        "键盘操作：输入或扫描后按回车核验；Esc 清除结论；Alt+N 切换“无智能手机”。",
        "Keyboard: type or scan, then Enter to check; Esc clears the verdict; Alt+N toggles “no smartphone”.",
    ),
    "console.online": ("在线", "Online"),
    "console.offline": ("离线：无法连接中心服务", "Offline: the central service cannot be reached"),
    "console.verdict": ("核验结论", "Verdict"),
    "console.why": ("原因", "Why"),
    "console.by_hand": ("需人工核验", "Check by hand"),
    "console.nothing_by_hand": ("无需人工核验其他材料", "Nothing else to check by hand"),
    "console.recorded": ("已记录本次通行", "This swipe is recorded"),
    "console.not_recorded": (
        "扫码核验不记录通行；进京人员请同时刷身份证。",
        "A scanned code is not recorded as a passage; swipe the ID card as well.",
    ),
    "console.code_valid": (
        "二维码有效（签名、有效期、吊销名单已核验）",
        "Code valid (signature, expiry and revocations checked)",
    ),
    "console.code_invalid": ("二维码无效", "Code not valid"),
    "console.holder": ("持码人", "holder"),
    "status.title": ("北京健康宝", "Beijing Health Kit"),
    "status.lookup": ("查询健康码状态", "Look up a health-code status"),
    "status.color.green": ("绿码", "Green code"),
    "status.color.yellow": ("黄码", "Yellow code"),
    "status.color.red": ("红码", "Red code"),
    "status.badge": ("通勤", "Commuter"),
    "status.badge_class.daily": ("每日通勤", "daily commuter"),
    "status.badge_class.weekly": ("每周往返", "weekly commuter"),
    "status.no_badge": ("不在通勤人员数据库中", "Not in the commuter database"),
    "status.nat": ("核酸检测有效期", "NAT result counts"),
    "status.nat_until": ("核酸结果有效至", "NAT result counts until"),
    "status.nat_left": ("剩余", "Time left"),
    "status.nat_none": ("没有有效的核酸检测结果", "No NAT result that counts"),
    "status.popup": ("弹窗提示", "Pop-up"),
    "status.qr_title": (
        "健康码二维码（可在任一地区离线核验）",
        "Health code QR (verifiable offline in any region)",
    ),
    "status.code_text": ("二维码文字（无法扫码时使用）", "The code as text (when it cannot be scanned)"),
    "status.code_expires": ("有效至", "valid until"),
    "status.code_issuer": ("签发地区", "issued by"),
    "status.why": ("为什么？", "Why?"),
    "status.policy": ("适用政策", "Policy in force"),
    "status.as_of": ("状态时间", "Status as of"),
    "risk.title": (
        "风险地区（有本土病例的县区、陆路边境口岸）",
        "Risk areas (counties with local cases, border ports)",
    ),
    "risk.county": ("县级行政区划代码", "County code"),
    "risk.name": ("地区", "Area"),
    "risk.level": ("类别", "Level"),
    "risk.level.case": ("有本土病例", "Local case"),
    "risk.level.border_port": ("陆路边境口岸", "Land border port"),
    "risk.start": ("开始日期", "Start"),
    "risk.end": ("结束日期", "End"),
    "risk.ongoing": ("持续中", "ongoing"),
    "risk.active": ("今日生效", "In force today"),
    "risk.changed_by": ("来源", "Source"),
    "risk.add": ("新增病例时段", "Add a case period"),
    "risk.none": ("暂无风险地区记录", "No risk periods recorded"),
    "policies.title": ("政策版本对照", "Policy versions side by side"),
    "policies.parameter": ("参数", "Parameter"),
    "policies.effective": ("生效时间", "In force from"),
    "policies.until": ("截止", "until"),
    "policies.changed": ("与上一版本不同", "changed from the version before"),
    "analyst.title": ("数据看板", "Dashboard"),
    "analyst.day": ("日期", "Day"),
    "analyst.days": ("天数", "Days"),
    "analyst.entries": ("各检查站每5分钟进京人次", "Entries per checkpoint per 5 minutes"),
    "analyst.holders": (
        "通勤人员数据库人数（每日12:00）",
        "People in the commuter database (12:00 each day)",
    ),
    "analyst.refusals": ("劝返原因", "Refusals by reason"),
    "analyst.totals": ("合计", "Totals"),
    "analyst.checks": ("核验人次", "Checks"),
    "analyst.entered": ("进京人次", "Entered"),
    "analyst.refused": ("劝返人次", "Refused"),
    "analyst.documents": ("查验材料人次", "Documents checked"),
    "analyst.daily": ("每日通勤", "Daily"),
    "analyst.weekly": ("每周往返", "Weekly"),
    "analyst.site": ("检查站", "Checkpoint"),
    "analyst.time": ("时间", "Time"),
    "analyst.count": ("人次", "Count"),
    "analyst.reason": ("原因", "Reason"),
    "analyst.no_data": ("所选时间内没有数据", "No data for the chosen time"),
    "analyst.table": ("数据表", "Data table"),
    "analyst.privacy": (
        "仅显示汇总数据，不显示任何个人记录。",
        "Aggregates only; no person's rows are shown.",
    ),
}


def lang_of(request: Request) -> str:
    """?lang= wins (and is remembered in a cookie by the page), then the cookie, then Chinese."""
    asked = request.query_params.get("lang")
    if asked in LANGS:
        return asked
    saved = request.cookies.get(LANG_COOKIE)
    return saved if saved in LANGS else DEFAULT_LANG


def translator(lang: str) -> Callable[[str], str]:
    index = LANGS.index(lang)

    def t(key: str) -> str:
        return TEXTS[key][index]

    return t
