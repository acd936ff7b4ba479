"""The body of the consolidated report, written as a provincial office writes it.

Every sentence is built from the warehouse (through ``ReportData``): counts, totals, rates,
a few representative units, and the units' own texts grouped by idea (``synthesis``). The
body never pastes one unit's text per unit; that detail goes to the appendices
(``annexes``). Structure (docs/domain.md §7): opening citing the plan; I. leadership and
implementation; II. results; III. general assessment (strengths, shortcomings, causes);
IV. directions for the next period; V. recommendations; closing.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from baocao.programme import TOTAL
from baocao.reports import synthesis
from baocao.reports.context import (
    TOTAL_REFS,
    N,
    ReportData,
    coverage_clause,
    coverage_note,
    fund_rows,
    funds_source_note,
    lead_total,
    official_source,
    percent,
    scalar_rows,
    series_total,
    target_table,
    transition_note,
    worker_rows,
)
from baocao.timezone import to_local
from baocao.vn_numbers import format_vn_money
from baocao.warehouse import readmodels as rm

SHOWN = 3  # representative units named in a sentence
MAX_IDEAS = 6  # grouped ideas stated in the body; the rest are in the appendix
CONCENTRATED = 60.0  # a market above this share of departures is a concentration


def _names(prog) -> dict[str, str]:
    return {u.code: u.name for u in prog.units}


def _is_local(data: ReportData, code: str) -> bool:
    found = data.prog.units_by_code(code)
    return bool(found) and data.prog.is_local(found[-1])


def _list(names: list[str], shown: int = SHOWN) -> str:
    """'A, B và C' or 'A, B, C và 17 đơn vị khác' (each name once)."""
    names = list(dict.fromkeys(names))
    if len(names) <= shown:
        return synthesis.names_list(names)
    return f"{', '.join(names[:shown])} và {len(names) - shown} đơn vị khác"


def opening(data: ReportData) -> str:
    """'Thực hiện Kế hoạch số 109/KH-UBND ngày 06/5/2023 …, UBND tỉnh báo cáo … như sau:'"""
    prog, period = data.prog, data.period
    plan = prog.title.removeprefix("Kết quả thực hiện ").strip()
    comp = rm.completeness(data.statuses)
    basis = (f"trên cơ sở báo cáo của {comp['received']}/{comp['expected']} cơ quan, đơn vị, "
             "địa phương, ") if comp["received"] else ""
    return (f"Thực hiện {plan}; {basis}{prog.reporting_body} báo cáo kết quả thực hiện "
            f"{period.title} như sau:")


def subject(data: ReportData) -> str:
    """The trích yếu: 'Kết quả 6 tháng đầu năm 2026 thực hiện Kế hoạch số …' (the period
    first, so it never reads as 'contracts of six months')."""
    title = data.prog.title
    head = "Kết quả thực hiện "
    if title.startswith(head):
        return f"Kết quả {data.period.title} thực hiện {title[len(head):]}"
    return f"{title} ({data.period.title})"


# ---- I. leadership and implementation ----------------------------------------------------

def task_counts(data: ReportData) -> dict[str, Any]:
    """Task results: overall, by task group and by unit (status counts)."""
    by_group: dict[str, Counter] = defaultdict(Counter)
    by_unit: dict[str, Counter] = defaultdict(Counter)
    for t in data.tasks:
        status = t["status"] or ""
        by_group[t["task_group"] or ""][status] += 1
        by_unit[t["unit_code"]][status] += 1
    total = Counter()
    for c in by_group.values():
        total.update(c)
    return {"total": total, "by_group": by_group, "by_unit": by_unit}


def _kind_label(kind: str) -> str:
    return {"commune": "các xã, phường", "district": "các huyện, thành phố"}.get(
        kind, "các cơ quan, đơn vị cấp tỉnh")


def leadership(data: ReportData) -> list[str]:
    """Section I: who was assigned what, who reported, how far tasks went."""
    prog = data.prog
    lead = prog.find_lead(data.period.deadline)
    expected = data.statuses
    assigned = sum(len(prog.unit_tasks(s.unit)) for s in expected)
    local = [s for s in expected if prog.is_local(s.unit)]
    provincial = [s for s in expected if not prog.is_local(s.unit)]
    out = [f"{prog.reporting_body} đã giao nhiệm vụ cụ thể cho {len(expected)} cơ quan, đơn "
           f"vị, địa phương ({len(provincial)} cơ quan, đơn vị cấp tỉnh và {len(local)} "
           f"{_kind_label(local[0].unit.kind).removeprefix('các ') if local else 'địa phương'})"
           f" với {assigned} lượt nhiệm vụ theo Kế hoạch"
           + (f"; {lead.name} là cơ quan thường trực, theo dõi, đôn đốc và tổng hợp kết quả "
              "thực hiện." if lead else ".")]
    counts = task_counts(data)
    total = counts["total"]
    reported = sum(total.values())
    if reported:
        done, doing, todo = total["done"], total["in_progress"], total["not_started"]
        out.append(
            f"Các cơ quan, đơn vị đã báo cáo kết quả {reported} lượt nhiệm vụ: {done} lượt đã "
            f"hoàn thành ({percent(done, reported)}), {doing} lượt đang thực hiện"
            + (f", {todo} lượt chưa thực hiện" if todo else "") + ".")
        parts = []
        for group_name, members in (("các cơ quan, đơn vị cấp tỉnh", provincial),
                                    (_kind_label(local[0].unit.kind) if local else "", local)):
            if not members:
                continue
            codes = {s.unit.code for s in members}
            c = Counter()
            for code, cnt in counts["by_unit"].items():
                if code in codes:
                    c.update(cnt)
            got = sum(s.status in ("on_time", "late") for s in members)
            if sum(c.values()):
                parts.append(f"{group_name}: {got}/{len(members)} đơn vị đã báo cáo, hoàn "
                             f"thành {c['done']}/{sum(c.values())} lượt nhiệm vụ "
                             f"({percent(c['done'], sum(c.values()))})")
        if parts:
            out.append("Trong đó, " + "; ".join(parts) + ".")
    conferences = data.headline_totals.get(("C_CONFERENCES", "", ""), 0.0)
    courses = data.headline_totals.get(("C_COURSES", "", ""), 0.0)
    if conferences or courses:
        out.append(f"Các cấp, các ngành đã tổ chức {N(conferences)} hội nghị quán triệt, tuyên "
                   f"truyền và {N(courses)} lớp tập huấn cho cán bộ làm công tác đưa người lao "
                   "động đi làm việc ở nước ngoài (chi tiết tại mục II).")
    return out


# ---- II. results ---------------------------------------------------------------------------

def _top_units(data: ReportData, indicator: str, n: int = SHOWN) -> list[str]:
    """The units with the largest figures of a single-figure indicator (representatives)."""
    names = _names(data.prog)
    vals = [(r["value"], r["unit_code"]) for r in data.by_unit
            if r["indicator"] == indicator and r["value"] > 0]
    vals.sort(key=lambda x: (-x[0], x[1]))
    return [names.get(c, c) for _v, c in vals[:n]]


def communication(data: ReportData) -> list[str]:
    """II.1 Propaganda, counselling, career orientation."""
    t = data.headline_totals

    def v(code: str) -> float:
        return t.get((code, "", ""), 0.0)
    if not any(v(c) for c in ("C_CONFERENCES", "C_NEWS", "C_COUNSELLING", "W_COUNSELLED",
                              "C_JOB_FAIRS", "C_PUPILS")):
        return ["Trong kỳ, các cơ quan, đơn vị chưa báo cáo số liệu về công tác tuyên "
                "truyền, tư vấn."]
    out = [f"Các cơ quan, đơn vị, địa phương đã tổ chức {N(v('C_CONFERENCES'))} hội nghị "
           f"tuyên truyền với {N(v('C_PARTICIPANTS'))} lượt người tham dự; "
           f"{N(v('C_JOB_FAIRS'))} phiên giao dịch việc làm; đăng, phát "
           f"{N(v('C_NEWS'))} tin, bài, phóng sự trên báo chí, phát thanh, truyền hình; tổ "
           f"chức {N(v('C_COUNSELLING'))} buổi tư vấn, định hướng nghề nghiệp cho "
           f"{N(v('C_PUPILS'))} học sinh."]
    top = _top_units(data, "C_CONFERENCES")
    if top:
        out.append("Một số đơn vị tổ chức nhiều hội nghị tuyên truyền: "
                   f"{synthesis.names_list(top)}.")
    if v("W_COUNSELLED"):
        out.append(f"Số người được tư vấn về đi làm việc ở nước ngoài theo hợp đồng: "
                   f"{N(v('W_COUNSELLED'))} người.")
    return out


def _market_rows(data: ReportData) -> list[dict[str, Any]]:
    return [r for r in worker_rows(data) if r["code"] != TOTAL]


def departures(data: ReportData) -> list[str]:
    """II.2 The headline: departures, by market, priority groups, channels, returns."""
    prog, period = data.prog, data.period
    rows = worker_rows(data)
    total = rows[-1]
    grand = total["total_value"]
    src = official_source(prog, "W_DEP", period.deadline)
    cov = coverage_note(data.coverage)
    out = [f"Trong {period.title}, toàn tỉnh có {N(grand)} lao động đi làm việc ở nước ngoài "
           f"theo hợp đồng (số liệu chính thức, {src}{cov.strip() and ', ' + cov.strip()[1:-1]}),"
           f" trong đó {total['women']} lao động nữ, {total['ethnic']} người dân tộc thiểu "
           f"số, {total['demob']} bộ đội, công an xuất ngũ, {total['poor']} lao động thuộc hộ "
           f"nghèo và {total['near_poor']} lao động thuộc hộ cận nghèo."]
    note = transition_note(data)
    if note:
        out.append(note)
    markets = sorted((r for r in _market_rows(data) if r["total_value"] > 0),
                     key=lambda r: -r["total_value"])
    if markets and grand:
        parts = [f"{r['name']} {r['total']} lao động ({r['share']})" for r in markets[:4]]
        out.append("Theo thị trường: " + "; ".join(parts)
                   + ("; các thị trường khác " + N(sum(r["total_value"] for r in markets[4:]))
                      + " lao động" if len(markets) > 4 else "") + ".")
    channels = [(m.name, data.headline_totals.get(("W_CHANNEL", m.code, ""), 0.0))
                for m in prog.dimension("channel").members]
    channels = [(n, v) for n, v in channels if v > 0]
    if channels:
        out.append("Theo hình thức đi: " + "; ".join(f"{n[0].lower() + n[1:]} {N(v)} lao động"
                                                     for n, v in channels) + ".")
    return out


def departures_other(data: ReportData) -> list[str]:
    """Returns, reintegration and violations (workers sheet's single figures)."""
    vals = {r["code"]: r["value_raw"] for r in scalar_rows(data, "workers")}
    out = []
    returned = vals.get("W_RETURNED", 0.0)
    if returned:
        employed = vals.get("W_RETURNED_EMPLOYED", 0.0)
        out.append(f"Có {N(returned)} lao động về nước, trong đó {N(employed)} người đã có "
                   f"việc làm ({percent(employed, returned)}).")
    if vals.get("W_OVERSTAY"):
        out.append(f"Có {N(vals['W_OVERSTAY'])} trường hợp lao động bỏ trốn, ở lại trái phép "
                   "hoặc vi phạm hợp đồng.")
    return out


def targets_text(data: ReportData) -> list[str]:
    """Achievement against the plan's targets, in full sentences (exact comparisons)."""
    out = []
    half = data.period.kind == "H"
    for t in target_table(data):
        if not t["has_target"]:
            continue
        what = t["name"][0].lower() + t["name"][1:]
        base = "mục tiêu 6 tháng (1/2 mục tiêu năm)" if half else "mục tiêu năm"
        if t["met_value"]:
            out.append(f"Số {what} đạt {t['achieved']} người, bằng {t['pct']} {base}, "
                       "đạt mục tiêu.")
        else:
            gap = t["target_value"] - t["achieved_value"]
            out.append(f"Số {what} đạt {t['achieved']} người, bằng {t['pct']} {base}, chưa đạt "
                       f"mục tiêu (còn thiếu {N(gap)} người).")
    return out


def training(data: ReportData) -> list[str]:
    """II.3 Training and preparing the workforce."""
    t = data.headline_totals
    trained = t.get(("W_TRAINED", "", ""), 0.0)
    courses = t.get(("C_COURSES", "", ""), 0.0)
    people = t.get(("C_TRAINED", "", ""), 0.0)
    if not (trained or courses or people):
        return ["Trong kỳ, các cơ quan, đơn vị chưa báo cáo số liệu về đào tạo, tạo nguồn."]
    return [f"Có {N(trained)} người được đào tạo nghề, ngoại ngữ, giáo dục định hướng trước "
            f"khi đi làm việc ở nước ngoài; các cơ quan, đơn vị đã mở {N(courses)} lớp tập "
            f"huấn, bồi dưỡng nghiệp vụ cho {N(people)} lượt cán bộ làm công tác đưa người lao "
            "động đi làm việc ở nước ngoài."]


def funds(data: ReportData) -> list[str]:
    """II.4 Support and loans against the plan (official source of the funds)."""
    prog = data.prog
    note = funds_source_note(data)
    if note:
        return [note]
    rows = fund_rows(data)
    total = rows[-1]["values"]
    src = official_source(prog, "F_FUNDS", data.period.deadline)
    out = [f"Theo {src}, trong kỳ đã giải ngân {format_vn_money(total['disbursed'])} triệu "
           f"đồng cho {N(total['beneficiaries'])} lượt người lao động vay vốn, được hỗ trợ; "
           f"lũy kế giải ngân {format_vn_money(total['cumulative'])} triệu đồng; dư nợ "
           f"{format_vn_money(total['outstanding'])} triệu đồng, nợ quá hạn "
           f"{format_vn_money(total['overdue'])} triệu đồng"
           + (f" ({percent(total['overdue'], total['outstanding'])} dư nợ)."
              if total["outstanding"] else ".")]
    if prog.budget:
        out.append(f"So với kế hoạch vốn giai đoạn {prog.budget.years} "
                   f"({format_vn_money(prog.budget.total)} triệu đồng), lũy kế giải ngân đạt "
                   f"{rows[-1]['pct']} (chi tiết tại bảng dưới).")
    return out


def enforcement(data: ReportData) -> list[str]:
    """II.5 Inspection, violations, protection of citizens."""
    v = {r["code"]: r["value_raw"] for r in scalar_rows(data, "enforcement")}
    if not any(v.values()):
        return ["Trong kỳ, các cơ quan chức năng chưa báo cáo số liệu về thanh tra, kiểm "
                "tra, xử lý vi phạm."]
    g = v.get
    out = [f"Các cơ quan chức năng đã tiến hành {N(g('E_INSPECTIONS', 0))} cuộc thanh tra, "
           f"kiểm tra đối với {N(g('E_ENTERPRISES', 0))} doanh nghiệp; phát hiện "
           f"{N(g('E_VIOLATIONS', 0))} vi phạm, xử phạt {format_vn_money(g('E_FINES', 0))} triệu "
           f"đồng; khởi tố {N(g('E_CRIMINAL_CASES', 0))} vụ án hình sự với "
           f"{N(g('E_CRIMINAL_PERSONS', 0))} đối tượng; xử lý "
           f"{N(g('E_BORDER_CROSSINGS', 0))} trường hợp xuất nhập cảnh trái phép."]
    out.append(f"Đã giải quyết {N(g('E_PROTECTION', 0))} vụ việc bảo hộ công dân; cấp "
               f"{N(g('E_RECORDS', 0))} phiếu lý lịch tư pháp và {N(g('E_PASSPORTS', 0))} hộ "
               f"chiếu cho người lao động; khám sức khỏe cho {N(g('E_HEALTH_CHECKS', 0))} "
               f"người, trong đó {N(g('E_UNFIT', 0))} người không đủ điều kiện sức khỏe.")
    return out


def task_groups(data: ReportData) -> list[dict[str, str]]:
    """Per task group: counts and a sentence naming a few units that completed tasks."""
    prog = data.prog
    names = _names(prog)
    groups = {g.code: g.name for g in prog.task_groups}
    done_by: dict[str, list[str]] = defaultdict(list)
    todo_by: dict[str, list[str]] = defaultdict(list)
    count: dict[str, Counter] = defaultdict(Counter)
    for t in data.tasks:
        g = t["task_group"] or ""
        count[g][t["status"] or ""] += 1
        who = names.get(t["unit_code"], t["unit_code"])
        if t["status"] == "done" and who not in done_by[g]:
            done_by[g].append(who)
        if t["status"] == "not_started" and who not in todo_by[g]:
            todo_by[g].append(who)
    out = []
    for code in sorted(count, key=lambda c: (c == "", c)):
        c = count[code]
        n = sum(c.values())
        title = f"Nhóm {code}: {groups.get(code, 'Nhiệm vụ khác')}" if code else \
            "Nhiệm vụ khác"
        # a unit with a task of the group not started is no example of completion;
        # provincial bodies first: they show how the province led the group
        done = [u for u in done_by[code] if u not in todo_by[code]]
        local = {u.name for u in prog.units if prog.is_local(u)}
        done.sort(key=lambda u: u in local)
        text = f"{c['done']}/{n} lượt nhiệm vụ đã hoàn thành ({percent(c['done'], n)})"
        if c["in_progress"]:
            text += f", {c['in_progress']} đang thực hiện"
        if c["not_started"]:
            text += f", {c['not_started']} chưa thực hiện ({_list(todo_by[code])})"
        if done:
            text += f"; đơn vị hoàn thành tiêu biểu: {_list(done)}"
        out.append({"name": title, "short": f"Nhóm {code}" if code else "Khác",
                    "total": str(n), "done": str(c["done"]),
                    "in_progress": str(c["in_progress"]), "not_started": str(c["not_started"]),
                    "pct": percent(c["done"], n), "text": text + "."})
    return out


# ---- III. assessment -----------------------------------------------------------------------

def strengths(data: ReportData) -> list[str]:
    """1. Ưu điểm, from the data: targets met, growth, tasks done, discipline."""
    out = []
    for t in target_table(data):
        if t["met_value"]:
            out.append(f"Chỉ tiêu “{t['name']}” đạt {t['pct']} mục tiêu của kỳ "
                       f"({t['achieved']}/{N(t['target_value'])} người).")
    tot = _growth_total(data)
    if tot and tot[1] and tot[0] > tot[1]:
        out.append(f"Số lao động đi làm việc ở nước ngoài tăng {percent(tot[0] - tot[1], tot[1])}"
                   f" so với cùng kỳ năm trước ({N(tot[1])} → {N(tot[0])} lao động"
                   f"{coverage_clause(data.previous_coverage)}).")
    total = task_counts(data)["total"]
    n = sum(total.values())
    if n and total["done"] * 2 >= n:
        out.append(f"Phần lớn nhiệm vụ được giao đã được triển khai: {total['done']}/{n} lượt "
                   f"nhiệm vụ đã hoàn thành ({percent(total['done'], n)}), "
                   f"{total['in_progress']} lượt đang thực hiện.")
    conf = data.headline_totals.get(("C_CONFERENCES", "", ""), 0.0)
    if conf:
        out.append(f"Công tác tuyên truyền được quan tâm với {N(conf)} hội nghị, "
                   f"{N(data.headline_totals.get(('C_NEWS', '', ''), 0.0))} tin, bài, phóng sự.")
    comp = rm.completeness(data.statuses)
    if comp["expected"] and comp["completeness"] >= 90:
        out.append(f"Chế độ báo cáo được các đơn vị chấp hành tốt: {comp['received']}/"
                   f"{comp['expected']} đơn vị đã gửi báo cáo "
                   f"({percent(comp['received'], comp['expected'])}), trong đó "
                   f"{comp['on_time']} đơn vị đúng hạn.")
    return out or ["Các cơ quan, đơn vị đã triển khai các nhiệm vụ được giao "
                                     "theo Kế hoạch."]


def _growth_total(data: ReportData) -> tuple[float, float] | None:
    prog, period = data.prog, data.period
    if int(period.previous_year()[:4]) < prog.first_year:
        return None
    refs = tuple(prog.growth.refs) if prog.growth else TOTAL_REFS
    prev = series_total(data, refs, period.previous_year())
    if prev is None:
        return None
    return data.total(list(refs)), prev


def shortcomings(data: ReportData) -> list[str]:
    """2. Tồn tại, hạn chế, from the data: targets missed (by how much), decline, market
    concentration, tasks not started, reporting discipline, data to check."""
    prog = data.prog
    names = _names(prog)
    out = []
    for t in target_table(data):
        if t["met_value"] is False:
            out.append(f"Chỉ tiêu “{t['name']}” mới đạt {t['achieved']}/"
                       f"{N(t['target_value'])} người ({t['pct']}), còn thiếu "
                       f"{N(t['target_value'] - t['achieved_value'])} người so với mục tiêu "
                       "của kỳ.")
    tot = _growth_total(data)
    if tot and tot[1] and tot[0] < tot[1]:
        out.append(f"Số lao động đi làm việc ở nước ngoài giảm {percent(tot[1] - tot[0], tot[1])} "
                   f"so với cùng kỳ năm trước ({N(tot[1])} → {N(tot[0])} lao động).")
    elif tot and prog.growth and tot[1] and tot[0] >= tot[1]:
        if 100 * (tot[0] - tot[1]) < prog.growth.min_pct * tot[1]:
            out.append(f"Mức tăng so với cùng kỳ ({percent(tot[0] - tot[1], tot[1])}) chưa đạt "
                       f"mục tiêu tăng {N(prog.growth.min_pct)}–{N(prog.growth.max_pct)}% mỗi năm.")
    markets = _market_rows(data)
    grand = sum(r["total_value"] for r in markets)
    if grand:
        top = max(markets, key=lambda r: r["total_value"])
        share = 100 * top["total_value"] / grand
        if share >= CONCENTRATED:
            out.append(f"Lao động đi làm việc ở nước ngoài còn tập trung chủ yếu ở thị trường "
                       f"{top['name']} ({top['share']} tổng số); các thị trường khác còn ít.")
    todo: dict[str, int] = Counter()
    for t in data.tasks:
        if t["status"] == "not_started":
            todo[t["unit_code"]] += 1
    if todo:
        units = [names.get(c, c) for c in sorted(todo, key=lambda c: (-todo[c], c))]
        out.append(f"Còn {sum(todo.values())} lượt nhiệm vụ chưa được triển khai tại "
                   f"{len(units)} cơ quan, đơn vị ({_list(units)}).")
    missing = [s for s in data.statuses if s.status not in ("on_time", "late")]
    late = [s for s in data.statuses if s.status == "late"]
    refused = sum(s.refused_before for s in data.statuses)
    parts = []
    if missing:
        parts.append(f"{len(missing)} đơn vị chưa gửi báo cáo hợp lệ "
                     f"({_list([s.unit.name for s in missing])})")
    if late:
        parts.append(f"{len(late)} đơn vị gửi báo cáo sau thời hạn "
                     f"({_list([s.unit.name for s in late])})")
    if refused:
        parts.append(f"{refused} tệp báo cáo bị từ chối do sai biểu mẫu hoặc số liệu không "
                     "hợp lệ")
    if parts:
        out.append("Chế độ báo cáo chưa được chấp hành nghiêm: " + "; ".join(parts)
                   + " (Phụ lục I).")
    gap = _lead_gap(data)
    if gap:
        out.append(gap)
    warnings = [w for w in data.warnings if w.get("rule") != "H-LEAD-VS-LOCAL"]
    if warnings:
        units = {w["unit_code"] for w in warnings}
        out.append(f"Có {len(warnings)} số liệu của {len(units)} đơn vị có dấu hiệu bất thường "
                   "cần đơn vị kiểm tra lại (Phụ lục V).")
    return out or ["Không có hạn chế nổi bật được phát hiện qua số liệu báo cáo của kỳ."]


def _lead_gap(data: ReportData) -> str:
    lead = data.prog.find_lead(data.period.deadline)
    other = lead_total(data)
    if lead is None or other is None:
        return ""
    official = data.total(list(TOTAL_REFS))
    if not official or abs(other - official) * 10 <= official:
        return ""
    return (f"Số liệu lao động đi làm việc ở nước ngoài theo báo cáo của {lead.name} chênh "
            f"lệch {percent(abs(other - official), official)} so với số liệu chính thức "
            "(đối chiếu tại Phụ lục III); cần rà soát, thống nhất số liệu giữa các nguồn.")


def _grouped(data: ReportData, key: str) -> list[synthesis.TextGroup]:
    names = _names(data.prog)
    order = {u.code: i for i, u in enumerate(data.prog.units)}
    rows = sorted((n for n in data.narratives if n["key"] == key),
                  key=lambda n: order.get(n["unit_code"], 1 << 30))
    items = [(names.get(n["unit_code"], n["unit_code"]), n["text"],
              _is_local(data, n["unit_code"])) for n in rows]
    return synthesis.group_texts(items)


def ideas(data: ReportData, key: str, limit: int = MAX_IDEAS) -> list[str]:
    """The most-raised ideas of one narrative ('difficulties', …), each stated once."""
    groups = _grouped(data, key)
    out = [synthesis.stated(g) for g in groups[:limit]]
    rest = groups[limit:]
    if rest:
        units = {u for g in rest for u in g.units}
        out.append(f"Ngoài ra còn {len(rest)} ý kiến khác của {len(units)} cơ quan, đơn vị "
                   "(Phụ lục IV).")
    return out


def subjective_causes(data: ReportData) -> list[str]:
    """The causes the data itself shows (units' own discipline)."""
    out = []
    todo = {t["unit_code"] for t in data.tasks if t["status"] == "not_started"}
    if todo:
        out.append(f"Một số cơ quan, đơn vị ({len(todo)} đơn vị còn nhiệm vụ chưa triển khai) "
                   "chưa quan tâm đúng mức, chưa bố trí nguồn lực để thực hiện nhiệm vụ được "
                   "giao.")
    bad = [s for s in data.statuses if s.status != "on_time"]
    if bad:
        out.append(f"Công tác theo dõi, tổng hợp, báo cáo ở {len(bad)} đơn vị chưa kịp thời, "
                   "chính xác (báo cáo muộn, chưa gửi hoặc phải gửi lại).")
    return out


# ---- IV. directions -------------------------------------------------------------------------

def directions(data: ReportData) -> list[str]:
    """Data-driven directions (remaining targets, unfinished tasks), then the units' plans."""
    period = data.period
    out = []
    for t in target_table(data):
        if period.kind == "H" and t["yearly_value"]:
            left = t["yearly_value"] - t["achieved_value"]
            if left > 0:
                out.append(f"Phấn đấu hoàn thành mục tiêu năm {period.year} về "
                           f"{t['name'][0].lower() + t['name'][1:]} ({t['yearly']} người; còn "
                           f"{N(left)} người trong 6 tháng cuối năm).")
        elif period.kind == "Y":
            nxt = next((tt for tt in data.prog.targets if tt.name == t["name"]), None)
            if nxt and nxt.per_year.get(period.year + 1):
                out.append(f"Phấn đấu đạt mục tiêu năm {period.year + 1} về "
                           f"{t['name'][0].lower() + t['name'][1:]}: "
                           f"{N(nxt.per_year[period.year + 1])} người.")
    total = task_counts(data)["total"]
    if total["in_progress"] or total["not_started"]:
        out.append(f"Tiếp tục thực hiện {total['in_progress']} lượt nhiệm vụ đang triển khai"
                   + (f" và đôn đốc triển khai {total['not_started']} lượt nhiệm vụ chưa thực "
                      "hiện" if total["not_started"] else "") + ".")
    out += ideas(data, "next_plan")
    return out


def closing(data: ReportData) -> str:
    """The data-quality paragraph: cut-off, completeness, timeliness, where the detail is."""
    period = data.period
    comp = rm.completeness(data.statuses)
    as_of = data.data_as_of or data.generated_at
    when = f", chốt lúc {to_local(as_of):%H:%M ngày %d/%m/%Y}" if as_of else ""
    return (f"Số liệu trong báo cáo tính từ ngày {period.cutoff_start:%d/%m/%Y} đến ngày "
            f"{period.cutoff_end:%d/%m/%Y}{when}, tổng hợp từ báo cáo của {comp['received']}/"
            f"{comp['expected']} cơ quan, đơn vị (tỷ lệ đầy đủ "
            f"{percent(comp['received'], comp['expected'])}, đúng hạn "
            f"{percent(comp['on_time'], comp['expected'])}); tình hình gửi báo cáo của từng "
            "đơn vị tại Phụ lục I, số liệu chi tiết tại các phụ lục kèm theo.")


def final_sentence(data: ReportData) -> str:
    """'Trên đây là báo cáo … của UBND tỉnh Lạng Sơn./.'"""
    body = data.prog.reporting_body
    if body.endswith(("tỉnh", "Tỉnh ủy")):
        body = f"{body} {data.prog.province}"
    return f"Trên đây là báo cáo kết quả thực hiện {data.period.title} của {body}./."
