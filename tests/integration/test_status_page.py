"""The status page: HTML from a seeded warehouse, the FastAPI app, and agreement with the CLI.

The warehouse is seeded through the real intake (forms filled by ``baocao.demo``, files
dropped in a local bucket with their arrival times), then one accepted report is returned
with ``merge.return_submission``. Expected statuses and figures come from what was dropped.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from support import drop

from baocao.config import settings

PERIOD = "2026-H1"
ON_TIME = datetime(2026, 6, 18, 2, tzinfo=UTC)  # 09:00 on 18/6 in Vietnam
LATE = datetime(2026, 6, 21, 3, tzinfo=UTC)  # 10:00 on 21/6, the day after the deadline
HOSTILE_NAME = "Báo cáo <img src=x onerror=alert(1)>.xlsx"
PAGE_TEXT = {"on_time": "Đúng hạn", "late": "Nộp muộn (ngày 21/06/2026)",
             "missing": "Chưa nộp", "returned": "Bị trả lại", "rejected": "Bị từ chối"}


def seed_warehouse(prog, url: str, bucket_url: str) -> dict[str, str]:
    """Migrate ``url``, run the intake on six units' files, return one; the units by role
    (``on_time``, ``late``, ``rejected``, ``returned``, ``twice``; every other is missing)."""
    from airflow.sdk import ObjectStoragePath

    from baocao.demo import demo_values, fill_form
    from baocao.intake import run_intake
    from baocao.warehouse.db import get_engine, migrate
    from baocao.warehouse.merge import return_submission, sync_programme

    migrate(url)
    engine = get_engine(url)
    sync_programme(engine, prog)
    root = ObjectStoragePath(f"{bucket_url}/{prog.code}")  # the programme's folder
    period = prog.period(PERIOD)
    units = [u for u in prog.expected_units(period) if prog.is_local(u)][:5]
    roles = dict(zip(("on_time", "late", "rejected", "returned", "twice"),
                     (u.code for u in units), strict=True))
    by_code = {u.code: u for u in units}
    form = {code: fill_form(prog, unit, period) for code, unit in by_code.items()}
    drop(root, roles["on_time"], HOSTILE_NAME, form[roles["on_time"]], ON_TIME)
    drop(root, roles["late"], "bc.xlsx", form[roles["late"]], LATE)
    bad = demo_values(prog, by_code[roles["rejected"]], period)
    bad[("W_COUNSELLED", "", "")] = "khoảng 50"
    drop(root, roles["rejected"], "hỏng.xlsx", fill_form(prog, by_code[roles["rejected"]],
                                                          period, values=bad), ON_TIME)
    drop(root, roles["returned"], "bc.xlsx", form[roles["returned"]], ON_TIME)
    wrong = demo_values(prog, by_code[roles["twice"]], period)
    wrong[("W_OVERSTAY", "", "")] += 5
    first = fill_form(prog, by_code[roles["twice"]], period, values=wrong)
    drop(root, roles["twice"], "lần 1.xlsx", first, ON_TIME - timedelta(days=2))
    drop(root, roles["twice"], "lần 2.xlsx", form[roles["twice"]], ON_TIME)
    outcomes = run_intake(prog, engine, root, "seed")
    assert sorted(o.status for o in outcomes) == ["accepted"] * 5 + ["rejected"]
    returned = next(o for o in outcomes if o.unit_code == roles["returned"])
    return_submission(engine, returned.submission_id, "Số liệu chưa khớp, đề nghị gửi lại")
    return roles


PROBLEMS_FIRST = ("rejected", "returned", "missing", "late", "on_time")


def expected_statuses(prog, roles: dict[str, str]) -> dict[str, str]:
    """Every expected unit's status, in the page's order: units needing attention first
    (rejected, returned, missing, late), then on time; the programme's order within each."""
    codes = [u.code for u in prog.expected_units(prog.period(PERIOD))]
    status = {code: "missing" for code in codes}
    status.update({code: ("on_time" if role == "twice" else role)
                   for role, code in roles.items()})
    return {c: status[c] for c in sorted(codes, key=lambda c: PROBLEMS_FIRST.index(status[c]))}


@pytest.fixture(scope="module")
def seeded(programme, tmp_path_factory):
    base = tmp_path_factory.mktemp("status")
    url, bucket = f"sqlite:///{base / 'wh.sqlite'}", f"file://{base / 'bucket'}"
    return url, bucket, seed_warehouse(programme, url, bucket)


@pytest.fixture
def use_warehouse(baocao_env):
    """Point ``settings()`` at another warehouse (and bucket) for one test."""
    def use(url: str, bucket: str | None = None) -> None:
        baocao_env(warehouse_url=url, **({"bucket_url": bucket} if bucket else {}))

    return use


def page_rows(html: str) -> dict[str, dict[str, str]]:
    soup = BeautifulSoup(html, "html.parser")
    rows = {}
    for tr in soup.select("#units tbody tr"):
        cells = [td.get_text(" ", strip=True) for td in tr.find_all("td")]
        link = tr.find("a")
        rows[tr["data-unit"]] = {"status": tr["data-status"], "code": cells[1],
                                 "name": cells[2], "kind": cells[3], "text": cells[4],
                                 "received": cells[5], "version": cells[6],
                                 "receipt": cells[7], "href": link["href"] if link else ""}
    return rows


def page_figures(html: str) -> dict[str, str]:
    soup = BeautifulSoup(html, "html.parser")
    return {li["data-figure"]: li.select_one(".n").get_text(strip=True)
            for li in soup.select("#figures li")}


def test_page_shows_every_expected_unit_with_its_status(seeded, programme, use_warehouse):
    from baocao.status_page import build_view, render

    url, bucket, roles = seeded
    use_warehouse(url, bucket)
    view = build_view("lang-son", PERIOD)
    assert view.status_code == 200 and not view.problem
    html = render(view)
    assert unicodedata.is_normalized("NFC", html)
    rows = page_rows(html)
    want = expected_statuses(programme, roles)
    assert list(rows) == list(want)  # every expected unit, those needing attention first
    assert {c: r["status"] for c, r in rows.items()} == want
    assert {c: r["text"] for c, r in rows.items()} == {c: PAGE_TEXT[s] for c, s in want.items()}
    on_time, late = rows[roles["on_time"]], rows[roles["late"]]
    assert on_time["received"] == "18/06/2026 09:00" and on_time["version"] == "1"
    assert late["received"] == "21/06/2026 10:00"
    assert rows[roles["twice"]]["version"] == "2" and "2 tệp đã nhận" in rows[roles["twice"]][
        "receipt"]
    assert "bị trả lại, 18/06/2026 09:00; lý do: Số liệu chưa khớp, đề nghị gửi lại" in rows[
        roles["returned"]]["receipt"]
    assert rows[roles["rejected"]]["receipt"].startswith("hỏng.xlsx bị từ chối, 18/06/2026")
    assert all(rows[roles[r]]["href"].startswith("receipts/") for r in roles)
    unit = programme.unit(roles["on_time"])
    assert on_time["name"] == unit.name and on_time["kind"] == "Xã, phường"
    expected = len(want)
    assert page_figures(html) == {
        "expected": str(expected), "received": "3", "on_time": "2", "late": "1",
        "missing": str(expected - 3),
        "completeness": f"{round(300 / expected, 1):.1f}".replace(".", ",") + "%",
        "timeliness": f"{round(200 / expected, 1):.1f}".replace(".", ",") + "%"}
    assert "trong đó bị trả lại 1, bị từ chối 1" in html


def test_unit_data_is_escaped(seeded, use_warehouse):
    from baocao.status_page import status_page

    url, bucket, roles = seeded
    use_warehouse(url, bucket)
    html, code = status_page("lang-son", PERIOD)
    assert code == 200
    assert "<img" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert page_rows(html)[roles["on_time"]]["receipt"].startswith(HOSTILE_NAME)


def test_page_and_cli_show_the_same(seeded, use_warehouse, capsys):
    from baocao.cli import main
    from baocao.status_page import status_page
    from baocao.statuses import unit_labels

    STATUS_LABELS = unit_labels()

    url, bucket, _roles = seeded
    use_warehouse(url, bucket)
    assert main(["status", "--programme", "lang-son", "--period", PERIOD]) == 0
    header, *lines = capsys.readouterr().out.splitlines()
    assert header.startswith(f"lang-son {PERIOD} ")
    by_label = {label: key for key, label in STATUS_LABELS.items()}
    cli = {}
    for line in lines[:-1]:
        code = line.split()[0]
        cli[code] = next(k for label, k in by_label.items() if f" {label} " in line)
    html, _ = status_page("lang-son", PERIOD)
    assert {c: r["status"] for c, r in page_rows(html).items()} == cli
    f = page_figures(html)
    assert (f"Phải báo cáo {f['expected']}, đã báo cáo {f['received']} (đúng hạn "
            f"{f['on_time']}, muộn {f['late']}), chưa báo cáo {f['missing']}") in lines[-1]


def test_app_serves_page_form_and_receipts(seeded, use_warehouse, monkeypatch):
    from fastapi.testclient import TestClient

    from baocao.status_page import create_app

    url, bucket, roles = seeded
    use_warehouse(url, bucket)
    client = TestClient(create_app())
    r = client.get("/status", params={"programme": "lang-son", "period": PERIOD})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in r.headers["content-security-policy"]
    soup = BeautifulSoup(r.text, "html.parser")
    assert soup.select_one("#programme option[selected]")["value"] == "lang-son"
    assert soup.select_one("#period option[selected]")["value"] == PERIOD
    options = [o["value"] for o in soup.select("#programme option")]
    files = sorted(p.stem for p in (Path(settings().programmes_dir)).glob("*.yaml")
                   if p.stem != "common")
    assert sorted(options) == files
    href = page_rows(r.text)[roles["returned"]]["href"]
    receipt = client.get(f"/{href}")  # the receipt sent before the report was returned
    assert receipt.status_code == 200 and "ĐÃ TIẾP NHẬN" in receipt.text
    rejected = client.get("/" + page_rows(r.text)[roles["rejected"]]["href"])
    assert "BỊ TỪ CHỐI" in rejected.text
    assert client.get("/receipts/999999").status_code == 404
    use_warehouse(url, f"file://{Path(bucket[7:]).parent / 'elsewhere'}")
    assert client.get(f"/{href}").status_code == 404  # recorded, but not in this bucket
    assert client.get("/receipts/abc").status_code == 422

    def unreachable(*_args, **_kwargs):
        raise OSError("bucket down")

    monkeypatch.setattr("baocao.bucket.bucket_root", unreachable)
    r = client.get(f"/{href}")
    assert r.status_code == 503 and "Không đọc được phiếu tiếp nhận" in r.text
    assert client.get("/", follow_redirects=False).headers["location"] == "status"


def test_bad_programme_and_period_are_answered_in_vietnamese(seeded, use_warehouse):
    from fastapi.testclient import TestClient

    from baocao.status_page import create_app

    url, bucket, _roles = seeded
    use_warehouse(url, bucket)
    client = TestClient(create_app())
    r = client.get("/status", params={"programme": "<khong-co>", "period": PERIOD})
    assert r.status_code == 404 and "Không có chương trình báo cáo “&lt;khong-co&gt;”" in r.text
    r = client.get("/status", params={"programme": "../programmes/lang-son"})
    assert r.status_code == 404  # only programme files of the folder, by their code
    r = client.get("/status", params={"programme": "lang-son", "period": "2026-Q3"})
    assert r.status_code == 400 and "không áp dụng cho chương trình này" in r.text
    assert BeautifulSoup(r.text, "html.parser").select("#period option")  # can choose again


def test_default_period_is_the_one_being_reported(seeded, use_warehouse):
    from datetime import date

    from baocao.status_page import build_view

    url, bucket, _roles = seeded
    use_warehouse(url, bucket)
    # the period being collected: cut-off started, deadline plus grace not passed
    assert build_view(None, None, today=date(2026, 6, 25)).period == "2026-H1"
    assert build_view(None, None, today=date(2026, 12, 4)).period == "2026-Y"
    assert build_view(None, None, today=date(2026, 12, 28)).period == "2026-Y"
    assert build_view(None, None, today=date(2027, 1, 5)).period == "2027-H1"


def test_empty_and_unmigrated_warehouses(tmp_path, programme, use_warehouse):
    from baocao.status_page import status_page
    from baocao.warehouse.db import get_engine, migrate

    missing_file = tmp_path / "none.sqlite"
    use_warehouse(f"sqlite:///{missing_file}")
    html, code = status_page("lang-son", PERIOD)
    assert code == 503 and "Kho dữ liệu chưa được khởi tạo" in html and "baocao migrate" in html
    assert not missing_file.exists()  # the page never creates a warehouse

    bare = tmp_path / "bare.sqlite"
    get_engine(f"sqlite:///{bare}").connect().close()  # a file without the schema
    use_warehouse(f"sqlite:///{bare}")
    html, code = status_page("lang-son", PERIOD)
    assert code == 503 and "chưa áp dụng migration" in html and 'id="units"' not in html

    empty = f"sqlite:///{tmp_path / 'empty.sqlite'}"
    migrate(empty)
    use_warehouse(empty)
    html, code = status_page("lang-son", PERIOD)
    rows = page_rows(html)
    expected = len(programme.expected_units(programme.period(PERIOD)))
    assert code == 200 and len(rows) == expected
    assert {r["text"] for r in rows.values()} == {"Chưa nộp"}
    assert page_figures(html)["completeness"] == "0,0%"


def test_unreachable_warehouse(use_warehouse):
    from baocao.status_page import status_page

    use_warehouse("postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2")
    html, code = status_page("lang-son", PERIOD)
    assert code == 503 and "Không kết nối được kho dữ liệu" in html
    assert "nobody" not in html


def test_same_statuses_on_each_database(warehouse_url, programme, tmp_path, use_warehouse):
    from baocao.status_page import status_page

    roles = seed_warehouse(programme, warehouse_url, f"file://{tmp_path / 'bucket'}")
    use_warehouse(warehouse_url, f"file://{tmp_path / 'bucket'}")
    html, code = status_page("lang-son", PERIOD)
    rows = page_rows(html)
    assert code == 200
    assert {c: r["status"] for c, r in rows.items()} == expected_statuses(programme, roles)
    assert rows[roles["late"]]["received"] == "21/06/2026 10:00"
    assert re.fullmatch(r"\d+", page_figures(html)["missing"])


def test_plugin_mounts_the_app_behind_airflow_login(seeded, use_warehouse, airflow_db):
    import baocao_status_plugin as plugin
    from airflow.api_fastapi.app import init_auth_manager
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser
    from fastapi.testclient import TestClient

    url, bucket, roles = seeded
    use_warehouse(url, bucket)
    [app] = plugin.BaocaoStatusPlugin.fastapi_apps
    [view] = plugin.BaocaoStatusPlugin.external_views
    assert app["url_prefix"] == "/baocao" and view["href"] == "/baocao/status"
    assert view["destination"] == "nav" and view["url_route"]
    auth = init_auth_manager()
    client = TestClient(app["app"])
    r = client.get("/status?period=2026-H1", follow_redirects=False)
    assert r.status_code == 307 and r.headers["location"].startswith("/auth/login?next=")
    assert "period%3D2026-H1" in r.headers["location"]
    assert client.get("/status", headers={"Authorization": "Bearer x"}).status_code == 403
    nobody = auth.generate_jwt(SimpleAuthManagerUser(username="nobody", role=None))
    assert client.get("/status", cookies={"_token": nobody}).status_code == 403
    viewer = auth.generate_jwt(SimpleAuthManagerUser(username="viewer", role="viewer"))
    r = client.get("/status", params={"programme": "lang-son", "period": PERIOD},
                   cookies={"_token": viewer})
    assert r.status_code == 200 and page_rows(r.text)[roles["late"]]["status"] == "late"
    r = client.get("/status", headers={"Authorization": f"Bearer {viewer}"})
    assert r.status_code == 200


def test_units_needing_attention_come_first_and_can_be_filtered(seeded, programme,
                                                                use_warehouse):
    from fastapi.testclient import TestClient

    from baocao.status_page import create_app

    url, bucket, roles = seeded
    use_warehouse(url, bucket)
    client = TestClient(create_app())
    page = client.get("/status", params={"programme": "lang-son", "period": PERIOD}).text
    statuses = [r["status"] for r in page_rows(page).values()]
    assert statuses[:2] == ["rejected", "returned"] and statuses[-3:] == ["late", "on_time",
                                                                         "on_time"]
    assert "được xếp trước" in page
    soup = BeautifulSoup(page, "html.parser")
    options = {o["value"]: o.get_text(strip=True) for o in soup.select("#show option")}
    expected = len(expected_statuses(programme, roles))
    assert options["all"] == f"Tất cả đơn vị ({expected})"
    assert options["problems"].endswith(f"({expected - 2})")  # all but the two on time
    want = expected_statuses(programme, roles)
    r = client.get("/status", params={"programme": "lang-son", "period": PERIOD,
                                      "show": "problems"})
    rows = page_rows(r.text)
    assert r.status_code == 200
    assert list(rows) == [c for c, s in want.items() if s != "on_time"]
    assert f"Đang hiển thị {expected - 2}/{expected} đơn vị" in r.text
    only = page_rows(client.get("/status", params={"programme": "lang-son", "period": PERIOD,
                                                   "show": "late"}).text)
    assert list(only) == [roles["late"]]
    assert page_figures(r.text)["expected"] == str(expected)  # figures stay for all units
    bad = client.get("/status", params={"programme": "lang-son", "show": "<x>"})
    assert bad.status_code == 400 and "Bộ lọc không hợp lệ" in bad.text
    assert "giờ Việt Nam" in page.split("<footer>")[1]


def test_only_the_deployments_programmes_are_offered(seeded, use_warehouse, baocao_env):
    from baocao.status_page import build_view

    url, bucket, _roles = seeded
    use_warehouse(url, bucket)
    baocao_env(programmes="lang-son,ha-tinh", programmes_off="ha-tinh")
    view = build_view("lang-son", PERIOD)
    assert [code for code, _label in view.programmes] == ["lang-son"]
    assert build_view("ha-tinh", PERIOD).status_code == 404  # switched off
