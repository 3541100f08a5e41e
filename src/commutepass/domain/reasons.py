"""Every reason code, in Chinese and English, with the remedy: what applies, why, what to do now.

The codes are stable: tools and people rely on them. ``docs/reasons.md`` is generated from this
catalog (``commutepass reasons --markdown``) and a test keeps the two in step.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from commutepass.domain.decisions import CheckOutcome, Reason, Status
from commutepass.domain.policy import Decision, Policy
from commutepass.domain.regions import region_catalog


@dataclass(frozen=True, slots=True)
class ReasonText:
    zh: str
    en: str
    remedy_zh: str = ""
    remedy_en: str = ""
    kind: str = "status"  # status | check | manual | popup | decision | credential | application


_NAT_AGAIN_ZH = "请到权威核酸检测机构（可在健康宝首页“消息通知”查看京内采样点和24小时检测机构）重新检测。"
_NAT_AGAIN_EN = (
    "Take a new test at an authoritative lab (the Health Kit's home page lists Beijing's "
    "sampling sites and 24-hour labs)."
)

CATALOG: dict[str, ReasonText] = {
    # --- the code's colour and pop-up -------------------------------------------------------
    "CODE_GREEN": ReasonText(
        "健康码为绿码：{red_days}日内没有阳性核酸结果，{risk_days}日内也没有到访风险地区的行程。",
        "Your code is green: no positive test in the last {red_days} days and no trip to a risk area "
        "in the last {risk_days} days.",
    ),
    "NAT_POSITIVE": ReasonText(
        "您 {sampled} 采样的核酸检测结果为阳性（{reported} 报告），健康码为红码。",
        "Your test sampled at {sampled} (reported {reported}) is positive, so your code is red.",
        "请立即联系所在社区并按医疗机构要求就医；不得进京。红码至少持续到 {red_until}。",
        "Contact your community at once and follow the medical instructions; you cannot enter "
        "Beijing. The code stays red at least until {red_until}.",
    ),
    "TRAVEL_CASE_COUNTY": ReasonText(
        "您{risk_days}日内到过 {place}（最近一次 {last_day}），该县（市、区、旗）有本土病例。",
        "You were in {place} in the last {risk_days} days (last on {last_day}); it has a local case.",
        "按规定{risk_days}日内有本土病例所在县旅居史的人员严格限制进（返）京；自 {until} 起此行程不再计入。"
        "如行程有误，可在健康宝留言或拨打{hotline}申请纠错。",
        "People who were in a county with a local case in the last {risk_days} days may not enter Beijing; "
        "this trip stops counting on {until}. If the trip is wrong, appeal through the Health Kit "
        "message board or the {hotline} hotline.",
    ),
    "TRAVEL_SAME_CITY": ReasonText(
        "您{risk_days}日内到过 {place}（最近一次 {last_day}），与有本土病例的 {risk_place} 同属一个地级市"
        "（直辖市和副省级城市按区县计算）。",
        "You were in {place} in the last {risk_days} days (last on {last_day}), in the same prefecture city "
        "as {risk_place}, which has a local case (municipalities and sub-provincial cities count "
        "by district).",
        "非必要不进（返）京；确需进京须持{nat_hours}小时内核酸阴性证明，进京后立即到所在社区登记报到。"
        "自 {until} 起此行程不再计入，弹窗随之消失。",
        "Avoid non-essential travel to Beijing; if you must come, bring a negative test from "
        "the last {nat_hours} hours and report to your community as soon as you arrive. The trip stops "
        "counting on {until} and the pop-up goes with it.",
    ),
    "TRAVEL_BORDER_PORT": ReasonText(
        "您{risk_days}日内到过陆路边境口岸所在县 {place}（最近一次 {last_day}）。",
        "You were in {place}, a county with a land border port, in the last {risk_days} days "
        "(last on {last_day}).",
        "通勤便利暂停，进京须持{nat_hours}小时内核酸阴性证明；自 {until} 起此行程不再计入。",
        "Your commuter privileges are paused: entry needs a negative test from the last {nat_hours} "
        "hours. The trip stops counting on {until}.",
    ),
    # --- the commuter database and the 通勤 badge -----------------------------------------
    "NOT_IN_COMMUTER_DB": ReasonText(
        "您不在环京通勤人员数据库中，因此没有“通勤”标识。",
        "You are not in the ring-area commuter database, so there is no commuter badge.",
        "如您居住在环京地区（{ring_area}）并在京工作："
        "走公路的可持身份证、工作证明、居住证明、核酸阴性证明到检查站当场申请，当日审批、次日入库；"
        "乘铁路的请拨打{hotline}登记，也可由所在社区代为申请。居住在北京、在环京地区工作的，同样可按上述方式申请。"
        "入库前请按进（返）京一般要求持{nat_hours}小时内核酸阴性证明；乘铁路的通勤人员也可凭工作证明、{commuter_days}日内核酸阴性证明和绿码进站。",
        "If you live in the ring area ({ring_area}) and work in Beijing: by road, apply at a checkpoint with your ID card, work "
        "proof, proof of residence and a negative test (decided the same day, in the database "
        "the next day); by rail, call the {hotline} hotline, or ask your community to apply for you. "
        "If you live in Beijing and work in the ring area, apply the same way. Until then the "
        "ordinary rule applies: a negative test from the last {nat_hours} hours; at a rail station a "
        "commuter may also board on work proof, a negative test within {commuter_days} days and a green code.",
    ),
    "IN_COMMUTER_DB": ReasonText(
        "您自 {since} 起在环京通勤人员数据库中（类别：{commuter_class}；来源：{source}）。",
        "You are in the ring-area commuter database since {since} (class: {commuter_class}; "
        "source: {source}).",
    ),
    "COMMUTER_PATTERN_LAPSED": ReasonText(
        "您最近 {days} 天没有进京记录，近期出行已不符合通勤规则，“通勤”标识自动失效。",
        "You have not entered Beijing for more than {days} days, so your recent travel no longer "
        "fits the commuter rules and the badge has lapsed by itself.",
        "恢复规律通勤后会重新识别；如记录有误，可拨打{hotline}或在检查站申请。",
        "Regular commuting brings it back at the next identification run; if the records are "
        "wrong, call {hotline} or apply at a checkpoint.",
    ),
    "BADGE_SUSPENDED_RISK": ReasonText(
        "因{risk_days}日内有风险地区行程（或健康码非绿码），“通勤”标识暂不显示。",
        "The commuter badge is hidden because of a risk-area trip in the last {risk_days} days (or a "
        "code that is not green).",
        "行程满{risk_days}天后、健康码恢复绿码时标识自动恢复。",
        "It returns by itself once the trip is {risk_days} days old and the code is green again.",
    ),
    "BADGE_NAT_EXPIRED": ReasonText(
        "您 {reported_date} 报告的核酸阴性结果已于 {ended} 起不再有效（自报告日期起{commuter_days}天），"
        "因此“通勤”标识消失。",
        "Your negative test reported on {reported_date} stopped counting at {ended} ({commuter_days} days from "
        "the report date), so the commuter badge is gone.",
        _NAT_AGAIN_ZH + "结果出来后健康宝将自动恢复绿码和“通勤”标识。",
        _NAT_AGAIN_EN + " The badge returns when the result arrives.",
    ),
    "BADGE_NO_NAT": ReasonText(
        "您在数据库中，但国家或北京核酸检测数据库中查不到 {days} 日内的阴性记录，因此暂无“通勤”标识。",
        "You are in the database, but no negative test from the last {days} days is on record, "
        "so there is no badge yet.",
        _NAT_AGAIN_ZH + "如已检测，请在健康宝“核酸疫苗服务查询”确认结果是否已同步。",
        _NAT_AGAIN_EN + " If you were tested, check that the result has reached the Health Kit "
        "(核酸疫苗服务查询).",
    ),
    "BADGE_SHOWN": ReasonText(
        "显示“通勤”标识：您在数据库中，{reported_date} 报告的核酸阴性结果有效至 {until}。",
        "The commuter badge shows: you are in the database and your negative test reported on "
        "{reported_date} counts until {until}.",
        "请在 {until} 前再做一次核酸检测，标识即可连续显示。",
        "Test again before {until} to keep the badge without a gap.",
    ),
    # --- reviewers' corrections after an appeal (纠错) -----------------------------------
    "OVERRIDE_COLOR": ReasonText(
        "经人工复核（纠错申请 {appeal}），自 {since} 至 {until} 不计入导致变色的核酸或行程记录：{reason}",
        "After a human review (appeal {appeal}), the test or trip records that changed your code's "
        "colour do not count from {since} until {until}: {reason}",
        "到期后按当时的数据重新判断；如仍有误，可再次申请纠错。",
        "After that the code is decided from the data again; if it is still wrong, appeal again.",
    ),
    "OVERRIDE_POPUP": ReasonText(
        "经人工复核（纠错申请 {appeal}），自 {since} 至 {until} 不计入导致弹窗的行程记录：{reason}",
        "After a human review (appeal {appeal}), the trip records behind the pop-up do not count "
        "from {since} until {until}: {reason}",
        "到期后按当时的数据重新判断；如仍有误，可再次申请纠错。",
        "After that the code is decided from the data again; if it is still wrong, appeal again.",
    ),
    "OVERRIDE_BADGE": ReasonText(
        "经人工复核（纠错申请 {appeal}），自 {since} 至 {until} 按通勤人员对待：{reason}",
        "After a human review (appeal {appeal}), you count as a commuter from {since} until "
        "{until}: {reason}",
        "“通勤”标识仍需{commuter_days}日内核酸阴性结果；到期前可申请入库。",
        "The badge still needs a negative test within {commuter_days} days; apply to the database before the "
        "correction ends.",
    ),
    # --- pop-ups (弹窗) ---------------------------------------------------------------------
    "POPUP_TRAVEL_CASE_COUNTY": ReasonText(
        "您近期有到访本土病例所在县（市、区、旗）的情况，严格限制进（返）京。",
        "You recently visited a county with a local case: entry to Beijing is strictly restricted.",
        kind="popup",
    ),
    "POPUP_TRAVEL_SAME_CITY": ReasonText(
        "您近期可能有到访或途经疫情中高风险地区的情况，请严格遵守北京市和当地的防疫政策，正确履行个人防疫义务。",
        "You may recently have visited or passed through an area at risk. Please follow the "
        "rules of Beijing and of the place you came from.",
        kind="popup",
    ),
    "POPUP_TRAVEL_BORDER_PORT": ReasonText(
        "您近期有到访陆路边境口岸所在县的情况。",
        "You recently visited a county with a land border port.",
        kind="popup",
    ),
    # --- the checkpoint decision --------------------------------------------------------------
    "NAT_ENTRY_VALID": ReasonText(
        "您 {sampled} 采样的核酸阴性结果在 {hours} 小时内，有效至 {until}。",
        "Your negative test sampled at {sampled} is within {hours} hours; it counts until {until}.",
        kind="check",
    ),
    "NAT_ENTRY_EXPIRED": ReasonText(
        "您最近一次核酸阴性结果（{sampled} 采样）已于 {ended} 超过 {hours} 小时。",
        "Your latest negative test (sampled at {sampled}) passed {hours} hours at {ended}.",
        "进（返）京须持 {hours} 小时内核酸阴性证明。" + _NAT_AGAIN_ZH,
        "Entry needs a negative test from the last {hours} hours. " + _NAT_AGAIN_EN,
        kind="check",
    ),
    "NAT_ENTRY_MISSING": ReasonText(
        "查不到您的核酸阴性结果。",
        "No negative test of yours is on record.",
        "进（返）京须持 {hours} 小时内核酸阴性证明。" + _NAT_AGAIN_ZH,
        "Entry needs a negative test from the last {hours} hours. " + _NAT_AGAIN_EN,
        kind="check",
    ),
    "COMMUTER_FIRST_CHECK": ReasonText(
        "这是您自 {since} 新规实施以来的首次进京查验：通勤人员首次须持 {hours} 小时内核酸阴性证明，"
        "此后{commuter_days}日内核酸阴性证明即可。",
        "This is your first entry check since the rule of {since}: a commuter's first check needs "
        "a negative test from the last {hours} hours; after that a test within {commuter_days} days is enough.",
        kind="check",
    ),
    "COMMUTER_NAT_VALID": ReasonText(
        "通勤人员：您 {reported_date} 报告的核酸阴性结果在 {days} 日有效期内（至 {until}）。",
        "Commuter: your negative test reported on {reported_date} is within its {days}-day "
        "validity (until {until}).",
        kind="check",
    ),
    "COMMUTER_NAT_EXPIRED": ReasonText(
        "通勤人员：您 {reported_date} 报告的核酸阴性结果已于 {ended} 超过 {days} 日有效期。",
        "Commuter: your negative test reported on {reported_date} passed its {days}-day validity at {ended}.",
        "通勤人员须每 {days} 日做一次核酸检测。" + _NAT_AGAIN_ZH,
        "Commuters need a test every {days} days. " + _NAT_AGAIN_EN,
        kind="check",
    ),
    "COMMUTER_NAT_MISSING": ReasonText(
        "通勤人员：查不到您 {days} 日内的核酸阴性结果。",
        "Commuter: no negative test from the last {days} days is on record.",
        "通勤人员须每 {days} 日做一次核酸检测。" + _NAT_AGAIN_ZH,
        "Commuters need a test every {days} days. " + _NAT_AGAIN_EN,
        kind="check",
    ),
    "COMMUTER_PRIVILEGE_SUSPENDED": ReasonText(
        "因风险地区行程，本次不适用通勤便利，按一般要求查验 {hours} 小时内核酸。",
        "Because of a risk-area trip, commuter privileges do not apply this time: the ordinary "
        "{hours}-hour test rule applies.",
        kind="check",
    ),
    "COMMUTER_ROUTINE_PASSAGE": ReasonText(
        "您是环京地区在京工作的通勤人员，上下班往返属于日常通行，无需居家观察，但须接受例行检查。",
        "You live in the ring area and work in Beijing: your daily passage is routine, with no "
        "observation period, but you are checked as usual.",
        kind="check",
    ),
    "OBSERVATION_14D": ReasonText(
        "按现行政策，进（返）京人员到京后须居家或集中观察{observation_days}天，并提前向单位和社区报告。",
        "Under the policy in force, everyone entering Beijing spends {observation_days} days in home or central "
        "observation and tells their employer and community beforehand.",
        "如您居住在环京地区并在京工作，可申请纳入通勤人员数据库，纳入后按日常通行。",
        "If you live in the ring area and work in Beijing, apply to join the commuter database; "
        "once in it, your passage is routine.",
        kind="check",
    ),
    "RAIL_BADGE_ONLY": ReasonText(
        "持“通勤”标识，车站只查验标识，免查其他证明。",
        "You have the commuter badge: the station checks the badge only, nothing else.",
        kind="check",
    ),
    "RAIL_DOCUMENTS": ReasonText(
        "您在通勤人员数据库中但当前没有“通勤”标识：车站查验工作证明、{days} 日内核酸阴性证明和健康宝绿码。",
        "You are in the commuter database but have no badge now: the station checks your work "
        "proof, a negative test within {days} days and a green code.",
        "带齐三项证明即可进站；标识恢复后只需出示标识。",
        "Bring the three proofs; once the badge is back, the badge alone is enough.",
        kind="check",
    ),
    "RAIL_THREE_PROOFS": ReasonText(
        "您不在通勤人员数据库中，也没有{nat_hours}小时内核酸阴性证明；京津冀通勤人员可凭三项证明进站："
        "工作证明、{days} 日内核酸阴性证明（{sampled} 采样，有效至 {until}）和健康宝绿码。",
        "You are not in the commuter database and have no test within {nat_hours} hours; a commuter between "
        "Beijing and the ring area may board on three proofs: work proof, a negative test within "
        "{days} days (sampled {sampled}, counts until {until}) and a green code.",
        "向车站工作人员出示工作证明（在京工作、居住在环京地区，或居住在北京、在环京地区工作）；"
        "如需“通勤”标识，可通过检查站登记窗口、{hotline}热线或所在社区申请纳入通勤人员数据库。",
        "Show the station staff your work proof (work in Beijing and a home in the ring area, or the "
        "reverse); to get the commuter badge, apply at a checkpoint's registration window, through "
        "the {hotline} hotline or through your community.",
        kind="check",
    ),
    "AIR_NO_COMMUTER_PATH": ReasonText(
        "乘飞机进京不适用通勤人员政策：须持 {hours} 小时内核酸阴性证明和健康宝绿码。",
        "Commuter rules do not apply to flights into Beijing: a negative test within {hours} hours "
        "and a green code are needed.",
        "请在登机前 {hours} 小时内完成核酸检测。",
        "Take a test within {hours} hours before boarding.",
        kind="check",
    ),
    "PLEDGE_ACCEPTED": ReasonText(
        "您 {sampled} 在 {site} 采样，结果尚未出来（{hours} 小时内）：填写《进（返）京人员承诺书》后，经查验可以进京。",
        "You were sampled at {site} at {sampled} and the result is not out yet (within {hours} hours): "
        "after signing the pledge (进（返）京人员承诺书) and the check you may enter.",
        "结果出来后可在“我的核酸检测结果”中查看；结果为阳性时健康码立即变为红码。",
        'Look for the result under "My test results"; a positive result turns your code red at once.',
        kind="check",
    ),
    "PLEDGE_NOT_IN_POLICY": ReasonText(
        "现行政策没有承诺书通行的规定。",
        "The policy in force has no entry on a pledge.",
        "请持规定时间内的核酸阴性证明进京。",
        "Bring a negative test within the time the policy requires.",
        kind="check",
    ),
    "PLEDGE_ROAD_ONLY": ReasonText(
        "承诺书通行只适用于公路检查站（临京服务区检测点采样）。",
        "Entry on a pledge applies at road checkpoints only (samples taken at the service areas next to Beijing).",
        "请持{nat_hours}小时内核酸阴性证明乘车或乘机。",
        "Bring a negative test from the last {nat_hours} hours for the train or the plane.",
        kind="check",
    ),
    "PLEDGE_SITE_NOT_LISTED": ReasonText(
        "{site} 不是政策列明的临京服务区检测点，不能凭承诺书通行。",
        "{site} is not one of the service-area test points the policy names: no entry on a pledge.",
        "请等待核酸结果，或在列明的临京服务区检测点采样后填写承诺书。",
        "Wait for the result, or be sampled at one of the named service-area test points and sign the pledge.",
        kind="check",
    ),
    "PLEDGE_SAMPLE_TOO_OLD": ReasonText(
        "{sampled} 的采样已超过 {hours} 小时（或时间有误），不能凭承诺书通行。",
        "The sample of {sampled} is more than {hours} hours old (or its time is wrong): no entry on a pledge.",
        "请查询核酸结果（“我的核酸检测结果”），或重新采样。",
        'Look up the result ("My test results") or be sampled again.',
        kind="check",
    ),
    "PLEDGE_RESULT_ALREADY_IN": ReasonText(
        "{sampled} 采样的结果已经出来，按结果判定，不再凭承诺书通行。",
        "The result of the sample of {sampled} is already in: it decides, not the pledge.",
        "请查看“我的核酸检测结果”。",
        'See "My test results".',
        kind="check",
    ),
    "REFUSE_POSITIVE": ReasonText(
        "核酸阳性（红码），不能进京。",
        "Positive test (red code): entry refused.",
        kind="check",
    ),
    "REFUSE_RISK_TRAVEL": ReasonText(
        "{days} 日内有本土病例所在县旅居史，严格限制进（返）京。",
        "A stay in a county with a local case in the last {days} days: entry strictly restricted.",
        kind="check",
    ),
    "ALLOW_REPORT_TO_COMMUNITY": ReasonText(
        "可以进京，但进京后须立即到所在社区登记报到。",
        "You may enter, but must report to your community as soon as you arrive.",
        kind="check",
    ),
    "NO_SMARTPHONE_NAT_ONLY": ReasonText(
        "不使用智能手机的老年人、儿童、视力听力残疾人等：只查验 {hours} 小时内核酸阴性证明，不查验健康宝。",
        "No smartphone (elderly, children, people with visual or hearing disabilities): only a "
        "negative test from the last {hours} hours is checked, not the Health Kit.",
        kind="check",
    ),
    "NO_SMARTPHONE_COMMUTER_ID_SWIPE": ReasonText(
        "没有{nat_hours}小时内核酸，但公路检查站刷身份证即可核验通勤人员身份，按通勤人员规定查验。",
        "No {nat_hours}-hour test, but at a road checkpoint the ID-card swipe shows the commuter database, "
        "so the commuter rule applies.",
        kind="check",
    ),
    "NO_SMARTPHONE_NOT_APPLICABLE": ReasonText(
        "现行政策对不使用智能手机的人员没有单独规定，按一般规定办理。",
        "The policy in force has no separate rule for people without a smartphone: the ordinary "
        "rule applies.",
        kind="check",
    ),
    "INFANT_COMPANIONS_CHECKED": ReasonText(
        "{age} 岁及以下婴幼儿：只查验同行人员的{nat_hours}小时内核酸阴性证明。",
        "An infant of {age} or under: only the companions' {nat_hours}-hour tests are checked.",
        kind="check",
    ),
    "INFANT_NEEDS_COMPANION": ReasonText(
        "{age} 岁及以下婴幼儿须有同行人员，并查验同行人员的{nat_hours}小时内核酸阴性证明。",
        "An infant of {age} or under travels with companions, whose {nat_hours}-hour tests are checked.",
        "请登记同行人员的身份证号后再查验。",
        "Register the companions' ID numbers and check again.",
        kind="check",
    ),
    "COMPANION_NAT_VALID": ReasonText(
        "同行人员 {companion}：{sampled} 采样的核酸阴性结果有效至 {until}。",
        "Companion {companion}: negative test sampled at {sampled}, counts until {until}.",
        kind="check",
    ),
    "COMPANION_NAT_MISSING": ReasonText(
        "同行人员 {companion} 没有 {hours} 小时内核酸阴性结果。",
        "Companion {companion} has no negative test from the last {hours} hours.",
        _NAT_AGAIN_ZH,
        _NAT_AGAIN_EN,
        kind="check",
    ),
    "COMPANION_NAT_POSITIVE": ReasonText(
        "同行人员 {companion} 核酸阳性。",
        "Companion {companion} has a positive test.",
        kind="check",
    ),
    # --- what the officer checks by hand --------------------------------------------------------
    "TELL_REPORT_TO_COMMUNITY": ReasonText(
        "告知其进京后立即到社区报到。",
        "Tell them to report to their community on arrival.",
        kind="manual",
    ),
    "CHECK_COMPANIONS": ReasonText(
        "核对 {count} 名同行人员的身份证件。",
        "Check the ID cards of the {count} companion(s).",
        kind="manual",
    ),
    "CONFIRM_NO_SMARTPHONE_GROUP": ReasonText(
        "此人 {age} 岁，不属老年人或儿童：核实其视力听力残疾等情况。",
        "This person is {age}, neither elderly nor a child: confirm a disability or similar reason.",
        kind="manual",
    ),
    "CHECK_PAPER_NAT": ReasonText(
        "查验纸质或电子核酸阴性证明（{hours} 小时内）。",
        "Check a paper or electronic negative test ({hours} hours).",
        kind="manual",
    ),
    "CHECK_WORK_PROOF": ReasonText("查验在京工作证明。", "Check proof of work in Beijing.", kind="manual"),
    "CHECK_GREEN_CODE": ReasonText("查验健康宝绿码。", "Check the green Health Kit code.", kind="manual"),
    "CHECK_SAMPLING_SLIP": ReasonText(
        "查验采样凭证：{sampled} 于 {site} 采样。",
        "Check the sampling slip: sampled at {site} at {sampled}.",
        kind="manual",
    ),
    "CHECK_PLEDGE_FORM": ReasonText(
        "收取并核对本人签名的《进（返）京人员承诺书》。",
        "Take and check the signed pledge (进（返）京人员承诺书).",
        kind="manual",
    ),
    "CHECK_RING_COMMUTE": ReasonText(
        "核对工作证明与身份证：一端在北京、另一端在环京地区（居住或工作）。",
        "Check the work proof against the ID card: Beijing at one end and the ring area at the "
        "other (home or work).",
        kind="manual",
    ),
    # --- signed codes (二维码互认) and offline checkpoints --------------------------------------
    "CARRIED_CODE_GREEN": ReasonText(
        "二维码由 {region} 于 {issued} 签发（政策 {policy}），所载健康码为绿码。",
        "The code was issued by {region} at {issued} (policy {policy}); it carries a green code.",
    ),
    "CARRIED_CODE_YELLOW": ReasonText(
        "二维码由 {region} 于 {issued} 签发（政策 {policy}），所载健康码为黄码。",
        "The code was issued by {region} at {issued} (policy {policy}); it carries a yellow code.",
        "请按弹窗提示处理；黄码原因消除后重新申领二维码。",
        "Follow the pop-up; ask for a new code once the reason for the yellow code has passed.",
    ),
    "CARRIED_CODE_RED": ReasonText(
        "二维码由 {region} 于 {issued} 签发（政策 {policy}），所载健康码为红码。",
        "The code was issued by {region} at {issued} (policy {policy}); it carries a red code.",
        "请立即联系所在社区并按医疗机构要求就医；不得进京。",
        "Contact your community at once and follow the medical instructions; you cannot enter Beijing.",
    ),
    "CARRIED_BADGE": ReasonText(
        "二维码显示“通勤”标识，所载核酸有效至 {until}。",
        "The code shows the commuter badge; the test it carries counts until {until}.",
    ),
    "CARRIED_BADGE_NO_NAT": ReasonText(
        "二维码显示“通勤”标识，但未载明核酸有效期。",
        "The code shows the commuter badge but carries no test validity.",
    ),
    "CARRIED_NAT_VALID": ReasonText(
        "二维码所载核酸阴性结果有效至 {until}。",
        "The negative test the code carries counts until {until}.",
        kind="check",
    ),
    "CARRIED_NAT_EXPIRED": ReasonText(
        "二维码所载核酸阴性结果已于 {ended} 起不再有效。",
        "The negative test the code carries stopped counting at {ended}.",
        _NAT_AGAIN_ZH + "结果出来后重新申领二维码。",
        _NAT_AGAIN_EN + " Ask for a new code when the result arrives.",
        kind="check",
    ),
    "CARRIED_NAT_MISSING": ReasonText(
        "二维码未载有有效的核酸阴性结果。",
        "The code carries no negative test that counts.",
        _NAT_AGAIN_ZH + "结果出来后重新申领二维码。",
        _NAT_AGAIN_EN + " Ask for a new code when the result arrives.",
        kind="check",
    ),
    "CHECK_HOLDER_ID": ReasonText(
        "核对持码人身份证：号码 {masked_id}，出生年份 {birth_year}。",
        "Match the holder to the ID card: number {masked_id}, born in {birth_year}.",
        kind="manual",
    ),
    "CREDENTIAL_MALFORMED": ReasonText(
        "无法识别的二维码（{detail}）。",
        "This is not a readable health-code credential ({detail}).",
        "请重新扫码；仍不能识别的，请重新申领二维码或出示身份证刷证。",
        "Scan again; if it still fails, ask for a new code or swipe the ID card.",
        kind="credential",
    ),
    "CREDENTIAL_TOO_LARGE": ReasonText(
        "二维码内容超过 {limit} 字节上限，拒绝处理。",
        "The code is larger than the {limit}-byte limit and is not processed.",
        "请出示正规签发的二维码或身份证刷证。",
        "Show a properly issued code, or swipe the ID card.",
        kind="credential",
    ),
    "CREDENTIAL_UNKNOWN_KEY": ReasonText(
        "二维码的签名密钥（{kid}）不在信任列表中。",
        "The code's signing key ({kid}) is not on the trust list.",
        "请更新信任列表；仍不在列表中的，该码不是京津冀任一地区签发的。",
        "Update the trust list; if the key is still missing, the code was not issued by any of "
        "Beijing, Tianjin or Hebei.",
        kind="credential",
    ),
    "CREDENTIAL_SIGNATURE": ReasonText(
        "二维码签名无效：内容被改动或伪造。",
        "The code's signature does not verify: it was changed or forged.",
        "请出示原始二维码或身份证刷证。",
        "Show the original code, or swipe the ID card.",
        kind="credential",
    ),
    "CREDENTIAL_ISSUER_MISMATCH": ReasonText(
        "二维码声称由 {region} 签发，但签名密钥属于 {key_region}。",
        "The code claims to be issued by {region} but its key belongs to {key_region}.",
        "请出示正规签发的二维码或身份证刷证。",
        "Show a properly issued code, or swipe the ID card.",
        kind="credential",
    ),
    "CREDENTIAL_KEY_EXPIRED": ReasonText(
        "二维码的签名密钥（{kid}）有效期至 {valid_to}，已不能用于核验。",
        "The code's signing key ({kid}) was valid until {valid_to} and no longer verifies codes.",
        "请重新申领二维码。",
        "Ask for a new code.",
        kind="credential",
    ),
    "CREDENTIAL_NOT_YET_VALID": ReasonText(
        "二维码签发时间 {issued} 晚于核验时间。",
        "The code was issued at {issued}, later than the time of this check.",
        "请检查核验设备的时钟，或重新申领二维码。",
        "Check the verifying device's clock, or ask for a new code.",
        kind="credential",
    ),
    "CREDENTIAL_EXPIRED": ReasonText(
        "二维码已于 {expired} 过期。",
        "The code expired at {expired}.",
        "请在健康宝重新申领二维码（二维码有效期为数小时，以便状态变化及时生效）。",
        "Ask for a new code in the Health Kit (codes live for hours, so changes of status reach "
        "checkpoints soon).",
        kind="credential",
    ),
    "CREDENTIAL_REVOKED": ReasonText(
        "二维码已被签发地区撤销。",
        "The code has been revoked by its issuer.",
        "请重新申领二维码；如有疑问拨打12345。",
        "Ask for a new code; call 12345 if in doubt.",
        kind="credential",
    ),
    "CREDENTIAL_KEY_USAGE": ReasonText(
        "签名证书只允许签发 {allowed} 类证书，此证书为 {kinds} 类。",
        "The signing certificate may sign {allowed} certificates only; this one is a {kinds} certificate.",
        "请出示正规签发的证书或身份证刷证。",
        "Show a properly issued certificate, or swipe the ID card.",
        kind="credential",
    ),
    "TRUST_LIST_EXPIRING": ReasonText(
        "本核验端的列表（{list}）将于 {expires} 到期。",
        "This verifier's {list} list expires at {expires}.",
        "请尽快联网同步新的列表。",
        "Sync a new list soon, while online.",
        kind="check",
    ),
    "TRUST_LIST_STALE": ReasonText(
        "本核验端的列表（{list}）已于 {expired} 到期，政策允许离线继续使用 {hours} 小时。",
        "This verifier's {list} list expired at {expired}; the policy accepts it offline for {hours} h more.",
        "请尽快联网同步新的列表；超过时限后将不能核验二维码。",
        "Sync a new list as soon as possible: past that time codes cannot be verified.",
        kind="check",
    ),
    "TRUST_LIST_EXPIRED": ReasonText(
        "本核验端的列表（{list}）已于 {expired} 到期，超过政策允许的 {hours} 小时，不能据此核验二维码。",
        "This verifier's {list} list expired at {expired}, more than the {hours} h the policy allows: "
        "codes cannot be verified with it.",
        "人工查验核酸证明和健康码；联网后同步新的列表。",
        "Check the test result and the health code by hand; sync a new list once online.",
        kind="credential",
    ),
    "HCERT_TEST_NEGATIVE": ReasonText(
        "欧盟数字新冠证书（{issuer} 签发）：{test_type} 检测，{sampled} 采样，结果阴性。",
        "EU Digital COVID Certificate (issued by {issuer}): {test_type} test sampled at {sampled}, negative.",
        kind="check",
    ),
    "HCERT_TEST_POSITIVE": ReasonText(
        "欧盟数字新冠证书（{issuer} 签发）：{test_type} 检测，{sampled} 采样，结果阳性。",
        "EU Digital COVID Certificate (issued by {issuer}): {test_type} test sampled at {sampled}, positive.",
        "请立即联系所在社区并按医疗机构要求就医；不得进京。",
        "Contact your community at once and follow the medical instructions; you cannot enter Beijing.",
        kind="check",
    ),
    "HCERT_TEST_UNREADABLE": ReasonText(
        "欧盟数字新冠证书（{issuer} 签发）的检测结果代码 {result} 无法识别。",
        "The EU Digital COVID Certificate (issued by {issuer}) has a test result code {result} that is not known.",
        "人工查验核酸证明和健康码。",
        "Check a test result and the health code by hand.",
        kind="check",
    ),
    "HCERT_NO_TEST": ReasonText(
        "欧盟数字新冠证书（{issuer} 签发）为{kinds}证书，不含核酸检测结果。",
        "EU Digital COVID Certificate (issued by {issuer}) of kind {kinds}: it holds no test result.",
        "人工查验核酸证明和健康码。",
        "Check a test result and the health code by hand.",
        kind="check",
    ),
    "HCERT_ISSUER_NOT_ACCEPTED": ReasonText(
        "政策未将 {issuer} 签发的检测结果认可为核酸证明。",
        "The policy does not accept test results issued by {issuer} as a NAT.",
        "人工查验核酸证明和健康码。",
        "Check a test result and the health code by hand.",
        kind="check",
    ),
    "HCERT_NOT_NAAT": ReasonText(
        "证书所载为抗原检测（{test_type}），不是核酸检测。",
        "The certificate holds an antigen test ({test_type}), not a nucleic-acid test.",
        "人工查验核酸证明和健康码。",
        "Check a test result and the health code by hand.",
        kind="check",
    ),
    "HCERT_NAT_VALID": ReasonText(
        "证书所载核酸阴性结果有效至 {until}（采样起 {hours} 小时）。",
        "The negative NAT on the certificate counts until {until} ({hours} h from sampling).",
        kind="check",
    ),
    "HCERT_NAT_EXPIRED": ReasonText(
        "证书所载核酸阴性结果已于 {ended} 起不再有效（采样起 {hours} 小时）。",
        "The negative NAT on the certificate stopped counting at {ended} ({hours} h from sampling).",
        _NAT_AGAIN_ZH,
        _NAT_AGAIN_EN,
        kind="check",
    ),
    "CHECK_HCERT_HOLDER": ReasonText(
        "核对证书持有人证件：姓名 {name}，出生日期 {birth_date}。",
        "Match the holder to their passport or ID: name {name}, born {birth_date}.",
        kind="manual",
    ),
    "OFFLINE_DECISION": ReasonText(
        "检查站与中心服务断开，依据 {as_of} 的离线快照（{hours} 小时前）作出判定，联网后上传。",
        "The checkpoint is cut off from the central service: decided from the snapshot of "
        "{as_of} ({hours} h old), to be uploaded when the service is back.",
        kind="check",
    ),
    "SNAPSHOT_TOO_OLD": ReasonText(
        "离线快照（{as_of}）距本次刷证 {hours} 小时，超出政策允许的 {limit} 小时（或晚于刷证时间），不能使用。",
        "The offline snapshot (of {as_of}) is {hours} h from this swipe, beyond the {limit} h the "
        "policy allows (or later than the swipe): it is not used.",
        "人工查验核酸证明和健康码；恢复联网后同步新快照。",
        "Check the test result and the health code by hand; sync a new snapshot once online.",
        kind="check",
    ),
    # --- the decision headline ----------------------------------------------------------------
    # --- what an application still lacks before approval (policy: [applications]) ------------
    "APP_MISSING_HOME_COUNTY": ReasonText(
        "申请未填写居住地所在县（区）。",
        "The application names no home county.",
        "请补充居住地的县级行政区划代码（6位）及居住证明。",
        "Add the 6-digit code of the home county and proof of residence.",
        kind="application",
    ),
    "APP_MISSING_WORK_COUNTY": ReasonText(
        "申请未填写工作地所在县（区）。",
        "The application names no work county.",
        "请补充工作地的县级行政区划代码（6位）及工作证明。",
        "Add the 6-digit code of the work county and proof of work.",
        kind="application",
    ),
    "APP_NO_RING_END": ReasonText(
        "居住地和工作地都不在环京地区（{ring_area}）。",
        "Neither the home nor the work county is in the ring area ({ring_area}).",
        "通勤人员须一端在环京地区（居住或工作），另一端在北京；如填写有误，请更正县（区）代码并补充相应证明。",
        "A commuter lives or works in the ring area and has Beijing at the other end; if a county is "
        "wrong, correct its code and add the matching proof.",
        kind="application",
    ),
    "APP_NO_BEIJING_END": ReasonText(
        "居住地和工作地都不在北京。",
        "Neither the home nor the work county is in Beijing.",
        "通勤人员须在北京工作（居住在环京地区），或居住在北京、在环京地区工作；如填写有误，请更正县（区）代码。",
        "A commuter works in Beijing (living in the ring area), or lives in Beijing and works in the "
        "ring area; if a county is wrong, correct its code.",
        kind="application",
    ),
    "APP_MISSING_ID_CARD": ReasonText(
        "缺少身份证（照片或扫描件）。",
        "The ID card (photo or scan) is missing.",
        "请上传身份证正反面照片（PDF、JPEG 或 PNG）。",
        "Upload a photo of both sides of the ID card (PDF, JPEG or PNG).",
        kind="application",
    ),
    "APP_MISSING_WORK_PROOF": ReasonText(
        "缺少工作证明。",
        "The proof of work is missing.",
        "请上传单位出具的工作证明（劳动合同、在职证明或营业执照）。",
        "Upload proof of work from the employer (contract, employment letter or business licence).",
        kind="application",
    ),
    "APP_MISSING_RESIDENCE_PROOF": ReasonText(
        "缺少居住证明。",
        "The proof of residence is missing.",
        "请上传居住证明（户口簿、居住证、房产证或租房合同）。",
        "Upload proof of residence (household register, residence permit, deed or lease).",
        kind="application",
    ),
    "APP_MISSING_NAT_PROOF": ReasonText(
        "缺少核酸阴性证明。",
        "The negative test result is missing.",
        "请上传{commuter_days}日内的核酸阴性证明（报告截图或纸质报告照片）。",
        "Upload a negative test result from the last {commuter_days} days (a screenshot or a photo of the report).",
        kind="application",
    ),
    "APP_MISSING_OTHER": ReasonText(
        "缺少审核人员要求的其他材料。",
        "Another document the reviewer asked for is missing.",
        "请按审核意见上传所需材料。",
        "Upload what the reviewer asked for.",
        kind="application",
    ),
    # --- the citizen's inbox (消息) ------------------------------------------------------------
    "INBOX_BADGE_LAPSES": ReasonText(
        "您的“通勤”标识将于 {until} 失效（约 {hours} 小时后）：您 {reported} 报告的核酸检测结果届时已满 {commuter_days} 日。",
        "Your commuter badge lapses at {until} (in about {hours} hours): the test you reported on "
        "{reported} will then be {commuter_days} days old.",
        "请在此之前完成核酸检测，结果报告后标识继续有效。不想收到此类提醒，可在“我的健康码”页面关闭提醒。",
        "Take a test before then; once it is reported the badge stays. To stop these reminders, "
        "turn them off on your health-code page.",
        kind="inbox",
    ),
    "INBOX_BADGE_LAPSED": ReasonText(
        "您的“通勤”标识已于 {at} 失效。",
        "Your commuter badge lapsed at {at}.",
        "原因和恢复办法见下文。",
        "Why, and how to get it back, follows.",
        kind="inbox",
    ),
    "INBOX_ENTRY_ADDED": ReasonText(
        "您自 {since} 起纳入环京通勤人员数据库（来源：{source}）。依据：{evidence}",
        "You are in the ring-area commuter database from {since} (source: {source}). Evidence: {evidence}",
        "持{commuter_days}日内核酸阴性证明即显示“通勤”标识。",
        "With a negative test from the last {commuter_days} days the commuter badge shows.",
        kind="inbox",
    ),
    "INBOX_ENTRY_ENDED": ReasonText(
        "您在环京通勤人员数据库中的记录自 {until} 起结束。原因：{why}",
        "Your entry in the ring-area commuter database ends at {until}. Reason: {why}",
        "如记录有误或恢复了规律通勤，可拨打{hotline}、到检查站或通过所在社区申请。",
        "If this is wrong, or you commute regularly again, apply through {hotline}, a checkpoint "
        "or your community.",
        kind="inbox",
    ),
    "INBOX_APPLICATION_APPROVED": ReasonText(
        "您的入库申请（编号 {application}）已于 {at} 批准，自 {effective} 起纳入数据库。审核意见：{reason}",
        "Your application {application} was approved at {at}; you are in the database from "
        "{effective}. Reviewer: {reason}",
        kind="inbox",
    ),
    "INBOX_APPLICATION_REJECTED": ReasonText(
        "您的入库申请（编号 {application}）已于 {at} 驳回。审核意见：{reason}",
        "Your application {application} was rejected at {at}. Reviewer: {reason}",
        "如有异议，可补充材料后重新申请或拨打{hotline}。",
        "If you disagree, apply again with more documents or call {hotline}.",
        kind="inbox",
    ),
    "INBOX_APPLICATION_NEEDS_MORE": ReasonText(
        "您的入库申请（编号 {application}）需补充材料（{at}）。审核意见：{reason}",
        "Your application {application} needs more documents ({at}). Reviewer: {reason}",
        "请在“申请入库”页面上传所需材料后重新提交。",
        "Upload what is asked on the application page and resubmit.",
        kind="inbox",
    ),
    "INBOX_APPEAL_OVERRIDDEN": ReasonText(
        "您的纠错申请（编号 {appeal}）已于 {at} 更正。审核意见：{reason}",
        "Your appeal {appeal} was upheld at {at} and corrected. Reviewer: {reason}",
        kind="inbox",
    ),
    "INBOX_APPEAL_REJECTED": ReasonText(
        "您的纠错申请（编号 {appeal}）已于 {at} 驳回。审核意见：{reason}",
        "Your appeal {appeal} was rejected at {at}. Reviewer: {reason}",
        "如有新的证明材料，可再次申请纠错或拨打{hotline}。",
        "With new evidence, appeal again or call {hotline}.",
        kind="inbox",
    ),
    "DECISION_ALLOW": ReasonText("结论：放行。", "Decision: allowed to enter.", kind="decision"),
    "DECISION_ALLOW_PLEDGE": ReasonText(
        "结论：凭承诺书放行（核酸结果待出）。",
        "Decision: allowed to enter on the pledge (test result pending).",
        "结果为阳性时健康码立即变为红码，工作人员将与您联系；请保持电话畅通并关注健康宝。",
        "If the result is positive your code turns red at once and staff will contact you; keep your "
        "phone on and watch the Health Kit.",
        kind="decision",
    ),
    "DECISION_ALLOW_REPORT": ReasonText(
        "结论：放行，到京后须立即到社区报到。",
        "Decision: allowed to enter, reporting to the community on arrival.",
        kind="decision",
    ),
    "DECISION_ALLOW_QUARANTINE": ReasonText(
        "结论：放行，到京后居家或集中观察{observation_days}天。",
        "Decision: allowed to enter into {observation_days} days of home or central observation.",
        kind="decision",
    ),
    "DECISION_DOCUMENTS": ReasonText(
        "结论：查验证明材料后放行。",
        "Decision: allowed after the documents are checked by hand.",
        kind="decision",
    ),
    "DECISION_REFUSE": ReasonText("结论：不能进京（劝返）。", "Decision: entry refused.", kind="decision"),
}


@dataclass(frozen=True, slots=True)
class Rendered:
    """A reason's texts, filled in once and reused by the reason list and the explanation."""

    reason: Reason
    zh: str
    en: str
    remedy_zh: str
    remedy_en: str


class _Values(dict[str, object]):
    """A reason's values with the policy's terms; a term asked for without a policy is an error
    that names it (never a number made up)."""

    def __missing__(self, key: str) -> object:
        raise KeyError(f"the text needs '{key}': render it with the policy that decided")


@lru_cache(maxsize=1)
def _region_names() -> tuple[dict[str, str], dict[str, str]]:
    """Province (2-digit) and prefecture (4-digit) code → name, from the region data."""
    provinces: dict[str, str] = {}
    prefectures: dict[str, str] = {}
    for county in region_catalog().counties():
        provinces.setdefault(county.province_code, county.province_name)
        prefectures.setdefault(county.prefecture_code[:4], county.prefecture_name)
    return provinces, prefectures


@lru_cache(maxsize=64)
def _ring_names(whole_provinces: tuple[str, ...], prefecture_codes: tuple[str, ...]) -> tuple[str, str]:
    provinces, prefectures = _region_names()
    whole = [provinces.get(code, code) for code in whole_provinces]
    by_province: dict[str, list[str]] = {}
    for code in prefecture_codes:
        by_province.setdefault(provinces.get(code[:2], code[:2]), []).append(prefectures.get(code, code))
    zh_parts = [f"{name}全域" for name in whole] + [
        f"{p}{'、'.join(names)}" for p, names in by_province.items()
    ]
    en_parts = [f"all of {name}" for name in whole] + [
        f"{', '.join(names)} in {p}" for p, names in by_province.items()
    ]
    return "及".join(zh_parts), "; ".join(en_parts)


def ring_area_names(policy: Policy) -> tuple[str, str]:
    """The policy's ring area in words, from the region data (zh, en)."""
    return _ring_names(policy.ring_area.provinces, policy.ring_area.prefectures)


def policy_terms(policy: Policy, lang: str = "zh") -> dict[str, object]:
    """The policy's parameters as the reason texts name them (in ``lang``: zh or en): every
    number, duration, list of places or channel in a text comes from here, so a new version is
    explained with its own values."""
    ring_zh, ring_en = ring_area_names(policy)
    return {
        "nat_hours": policy.nat.entry_window_hours,
        "commuter_days": policy.nat.commuter_valid_days,
        "red_days": policy.nat.positive_red_days,
        "risk_days": policy.risk.lookback_days,
        "observation_days": policy.observation_days,
        "hotline": policy.commuters.hotline,
        "ring_area": ring_zh if lang == "zh" else ring_en,
    }


_TERMS: dict[int, tuple[Policy, dict[str, object], dict[str, object]]] = {}
"""``policy_terms`` of each policy in both languages, by the policy's identity (policies are
immutable and few; the check path renders several reasons per check)."""


def _terms(policy: Policy) -> tuple[dict[str, object], dict[str, object]]:
    hit = _TERMS.get(id(policy))
    if hit is None or hit[0] is not policy:
        if len(_TERMS) > 64:
            _TERMS.clear()
        hit = _TERMS[id(policy)] = (policy, policy_terms(policy, "zh"), policy_terms(policy, "en"))
    return hit[1], hit[2]


def render(reason: Reason, policy: Policy | None = None) -> Rendered:
    """The reason's texts with its values and the terms of ``policy`` (the version that decided)."""
    entry = CATALOG[reason.code]
    values = reason.values
    if policy is not None:
        terms_zh, terms_en = _terms(policy)
        zh = _Values({**terms_zh, **values})
        en = _Values({**terms_en, **values})
    else:
        zh = _Values(values)
        en = _Values(values)
    return Rendered(
        reason,
        entry.zh.format_map(zh),
        entry.en.format_map(en),
        entry.remedy_zh.format_map(zh) if entry.remedy_zh else "",
        entry.remedy_en.format_map(en) if entry.remedy_en else "",
    )


def text_of(reason: Reason, policy: Policy | None = None) -> dict[str, str]:
    """The reason's message and remedy in both languages, with the terms of ``policy``."""
    r = render(reason, policy)
    return {"zh": r.zh, "en": r.en, "remedy_zh": r.remedy_zh, "remedy_en": r.remedy_en}


def reason_json(reason: Reason | Rendered) -> dict[str, object]:
    r = reason if isinstance(reason, Rendered) else render(reason)
    out: dict[str, object] = {"code": r.reason.code, "params": r.reason.values, "zh": r.zh, "en": r.en}
    if r.remedy_zh:
        out["remedy"] = {"zh": r.remedy_zh, "en": r.remedy_en}
    return out


def popup_json(code: str | None) -> dict[str, str] | None:
    if code is None:
        return None
    entry = CATALOG[code]
    return {"code": code, "zh": entry.zh, "en": entry.en}


def explain(rendered: Iterable[Rendered], policy: Policy) -> dict[str, str]:
    """What applies, why, and what to do now, in both languages."""
    zh: list[str] = [f"适用政策：{policy.version}《{policy.title_zh}》。"]
    en: list[str] = [f"Policy in force: {policy.version}, “{policy.title_en}”."]
    remedies_zh: list[str] = []
    remedies_en: list[str] = []
    for r in rendered:
        zh.append(r.zh)
        en.append(r.en)
        _add_sentences(remedies_zh, r.remedy_zh, "。")
        _add_sentences(remedies_en, r.remedy_en, ". ")
    if remedies_zh:
        zh.append("怎么办：" + "".join(remedies_zh))
        en.append("What to do: " + " ".join(remedies_en))
    return {"zh": "".join(zh), "en": " ".join(en)}


def _add_sentences(collected: list[str], text: str, stop: str) -> None:
    """Append the sentences of ``text`` not said already (two remedies may share a sentence)."""
    for part in text.split(stop):
        part = part.strip()
        if not part:
            continue
        sentence = part if part.endswith(stop.strip()) else part + stop.strip()
        if sentence not in collected:
            collected.append(sentence)


def headline(decision: Decision, policy: Policy | None = None) -> Rendered:
    return render(Reason.of("DECISION_" + decision.value.upper()), policy)


def explain_status(status: Status, policy: Policy) -> dict[str, str]:
    return explain((render(r, policy) for r in status.reasons), policy)


def explain_check(
    outcome: CheckOutcome,
    policy: Policy,
    reasons: Sequence[Rendered] | None = None,
    status_reasons: Sequence[Rendered] | None = None,
) -> dict[str, str]:
    """The decision's headline, why this decision, then why this code; already rendered reasons
    may be passed in (the JSON answer renders them anyway)."""
    if reasons is None:
        reasons = [render(r, policy) for r in outcome.reasons]
    if status_reasons is None:
        status_reasons = [render(r, policy) for r in outcome.status.reasons]
    return explain([headline(outcome.decision, policy), *reasons, *status_reasons], policy)


TERM_MEANINGS = {
    "nat_hours": "nat.entry_window_hours: the ordinary NAT window (hours)",
    "commuter_days": "nat.commuter_valid_days: a commuter's NAT counts this many days from its report date",
    "red_days": "nat.positive_red_days: a positive NAT keeps the code red this many days",
    "risk_days": "risk.lookback_days: trips counted this many days back",
    "observation_days": "observation_days: home or central observation after entering",
    "hotline": "commuters.hotline: the telephone channel for registering and appeals",
    "ring_area": "ring_area: the ring-Beijing area, named from the region data",
}
"""Every policy term a reason text may name, with the policy field it comes from."""


class _KeepMissing(dict[str, object]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def _filled(text: str, terms: dict[str, object]) -> str:
    return text.format_map(_KeepMissing(terms)) if text else text


def catalog_markdown(policies: Sequence[Policy] = ()) -> str:
    """``docs/reasons.md``: every code with its texts, once per policy version with that
    version's terms filled in (kept in step by a test)."""
    lines = [
        "# Reason codes",
        "",
        "Generated by `commutepass reasons --markdown`. Codes are stable; texts may improve.",
        "`{name}` marks a value filled in from the person's facts. No number, duration, list of",
        "places or channel is written into a text: each comes from the policy version that decided.",
        "",
        "## Policy terms",
        "",
        "| term | from the policy | " + " | ".join(f"`{p.version}`" for p in policies) + " |",
        "|---|---|" + "---|" * len(policies),
    ]
    for term, meaning in TERM_MEANINGS.items():
        values = " | ".join(_term_cell(p, term) for p in policies)
        lines.append(f"| `{{{term}}}` | {meaning} | {values} |")
    lines.append("")
    versions: list[Policy | None] = list(policies) or [None]
    for policy in versions:
        zh = policy_terms(policy, "zh") if policy is not None else {}
        en = policy_terms(policy, "en") if policy is not None else {}
        if policy is not None:
            lines += [f"# Version `{policy.version}` (in force from {policy.effective_from.isoformat()})", ""]
        lines += _catalog_tables(zh, en)
    return "\n".join(lines)


def _term_cell(policy: Policy, term: str) -> str:
    zh, en = policy_terms(policy, "zh")[term], policy_terms(policy, "en")[term]
    return str(zh) if zh == en else f"{zh} / {en}"


def _catalog_tables(zh: dict[str, object], en: dict[str, object]) -> list[str]:
    lines: list[str] = []
    kinds = {
        "status": "Health-code status",
        "popup": "Pop-ups (弹窗)",
        "check": "Checkpoint decision",
        "manual": "What the officer checks by hand",
        "decision": "Decision headlines",
        "application": "What an application still lacks (入库申请缺项)",
        "inbox": "Messages to the citizen (消息)",
        "credential": "Signed codes refused (二维码无效)",
    }
    for kind, title in kinds.items():
        lines += [
            f"## {title}",
            "",
            "| code | 中文 | English | remedy / 怎么办 |",
            "|---|---|---|---|",
        ]
        for code, text in CATALOG.items():
            if text.kind == kind:
                remedy = " / ".join(
                    t for t in (_filled(text.remedy_zh, zh), _filled(text.remedy_en, en)) if t
                )
                lines.append(f"| `{code}` | {_filled(text.zh, zh)} | {_filled(text.en, en)} | {remedy} |")
        lines.append("")
    return lines
