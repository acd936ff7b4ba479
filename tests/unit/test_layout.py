"""The bucket layout by programme, the deployment's active programmes, files dropped in the
old (pre-programme) places, and moving an old bucket under a programme's folder."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from support import put

from baocao import layout
from baocao.config import active_programmes


@pytest.mark.parametrize(("bucket_url", "root", "shared", "prefix", "bucket"), [
    ("s3://baocao-intake", "s3://baocao-intake/ha-tinh", "s3://baocao-intake", "ha-tinh/",
     "baocao-intake"),
    ("s3://baocao-intake/", "s3://baocao-intake/ha-tinh", "s3://baocao-intake", "ha-tinh/",
     "baocao-intake"),
    ("s3://baocao-{programme}", "s3://baocao-ha-tinh", None, "", "baocao-ha-tinh"),
    ("s3://intake/{programme}", "s3://intake/ha-tinh", "s3://intake", "ha-tinh/", "intake"),
    ("s3://intake/bc/{programme}", "s3://intake/bc/ha-tinh", "s3://intake/bc",
     "bc/ha-tinh/", "intake"),
    ("file:///srv/bucket", "file:///srv/bucket/ha-tinh", "file:///srv/bucket", "ha-tinh/",
     "/srv/bucket"),
    ("file:///srv/{programme}-intake", "file:///srv/ha-tinh-intake", None, "",
     "/srv/ha-tinh-intake"),
])
def test_programme_roots(bucket_url, root, shared, prefix, bucket):
    assert layout.programme_url("ha-tinh", bucket_url) == root
    assert layout.shared_bucket_url(bucket_url) == shared
    assert layout.programme_prefix("ha-tinh", bucket_url) == prefix
    assert layout.bucket_name("ha-tinh", bucket_url) == bucket


def test_clerk_facing_places_carry_the_programme(baocao_env):
    baocao_env(bucket_url="s3://baocao-intake")
    assert layout.drop_location("ha-tinh", "SNV") == "ha-tinh/inbox/SNV/"
    assert layout.receipts_location("lang-son", "SNV") == "lang-son/receipts/SNV/"
    assert layout.form_path("lang-son", "2026-Y", "SNV") == "lang-son/templates/2026-Y/SNV.xlsx"
    assert layout.templates_location("lang-son", "2026-Y") == "lang-son/templates/2026-Y/"
    baocao_env(bucket_url="s3://baocao-{programme}")  # one bucket per programme: no prefix
    assert layout.drop_location("ha-tinh", "SNV") == "inbox/SNV/"
    # paths the intake writes are relative to the programme's root, whatever the mode
    assert layout.receipt_file("SNV", "bc", "0123456789abcdef") == \
        "receipts/SNV/bc__01234567.html"
    assert layout.receipt_file("SNV", "bc", "0123456789abcdef", "tra-lai") == \
        "receipts/SNV/bc__01234567__tra-lai.html"


@pytest.mark.parametrize("bad", ["inbox", "receipts", "templates", "archive", "Lang-Son",
                                 "../x", "a/b", "", "-x", "lang son"])
def test_programme_codes_that_cannot_name_a_folder_are_refused(bad):
    with pytest.raises(ValueError):
        layout.programme_url(bad, "s3://baocao-intake")


def test_active_programmes(baocao_env, tmp_path):
    folder = tmp_path / "programmes"
    folder.mkdir()
    for name in ("common", "ha-tinh", "lang-son", "thai-nguyen", "_draft"):
        (folder / f"{name}.yaml").write_text("code: x\n", encoding="utf-8")
    baocao_env(programmes_dir=str(folder), programmes="all")
    assert active_programmes() == ["ha-tinh", "lang-son", "thai-nguyen"]
    baocao_env(programmes_off="thai-nguyen, lang-son")
    assert active_programmes() == ["ha-tinh"]
    baocao_env(programmes="lang-son,ha-tinh,lang-son", programmes_off="")
    assert active_programmes() == ["lang-son", "ha-tinh"]  # the order given, once each
    baocao_env(programmes="lang-son,lam-dong")  # a listed code without a file stays: its tasks fail
    assert active_programmes() == ["lang-son", "lam-dong"]


def test_pipeline_targets(baocao_env, tmp_path):
    from types import SimpleNamespace

    from baocao.pipeline import intake_targets, report_targets

    baocao_env(programmes="lang-son,ha-tinh")
    assert intake_targets() == ["lang-son", "ha-tinh"]  # the cron: every active programme
    assert intake_targets("ha-tinh") == ["ha-tinh"]  # a manual run
    with pytest.raises(ValueError):
        intake_targets("../etc")

    def event(payload):
        return SimpleNamespace(extra={"from_trigger": True, "payload": payload})

    events = {"baocao_inbox": [event({"programmes": ["ha-tinh"], "old_place": False}),
                               event({"programmes": ["lam-dong", "ha-tinh"]})]}
    assert intake_targets("", events) == ["ha-tinh"]  # lam-dong is not switched on
    assert intake_targets("", {"baocao_inbox": [event({"programmes": [],
                                                        "old_place": True})]}) == []
    warehouse = {"baocao_warehouse": [
        SimpleNamespace(extra={"programme": "ha-tinh", "periods": ["2026-H1"]}),
        SimpleNamespace(extra={"programme": "lang-son", "periods": ["2026-H1", "2025-Y"]}),
        SimpleNamespace(extra={"programme": "ha-tinh", "periods": ["2026-H1", "2026-Y"]})]}
    assert report_targets("", "", warehouse) == [
        {"programme": "ha-tinh", "periods": ["2026-H1", "2026-Y"]},
        {"programme": "lang-son", "periods": ["2026-H1", "2025-Y"]}]
    assert report_targets() == [{"programme": "lang-son", "periods": None},
                                {"programme": "ha-tinh", "periods": None}]
    assert report_targets("", "2026-Y") == [{"programme": "lang-son", "periods": ["2026-Y"]},
                                            {"programme": "ha-tinh", "periods": ["2026-Y"]}]
    assert report_targets("ha-tinh", "") == [{"programme": "ha-tinh", "periods": None}]


def test_a_file_in_the_old_inbox_is_kept_and_answered_with_its_new_place(baocao_env, tmp_path):
    from baocao.misplaced import sweep_misplaced

    bucket = tmp_path / "bucket"
    baocao_env(bucket_url=f"file://{bucket}", programmes="lang-son,ha-tinh")
    when = datetime(2026, 6, 18, 2, tzinfo=UTC)
    put(bucket / "inbox" / "SNV" / "Báo cáo.xlsx", b"SNV data", when)
    put(bucket / "inbox" / "X-06040" / "bc.xlsx", b"commune data", when)  # Lạng Sơn only
    put(bucket / "inbox" / "KHONG-CO" / "bc.xlsx", b"?", when)  # no such unit anywhere
    put(bucket / "inbox" / "SNV" / "~$Báo cáo.xlsx", b"lock", when)  # Excel's lock file
    put(bucket / "lac.xlsx", b"at the root", when)
    put(bucket / "lang-son" / "inbox" / "SNV" / "bc.xlsx", b"the right place", when)
    put(bucket / "thai-nguyen" / "inbox" / "SNV" / "bc.xlsx", b"switched off", when)
    done = sweep_misplaced(active_programmes())
    assert sorted((d["path"], d["status"]) for d in done) == [
        ("inbox/KHONG-CO/bc.xlsx", "misplaced"), ("inbox/SNV/Báo cáo.xlsx", "misplaced"),
        ("inbox/X-06040/bc.xlsx", "misplaced"), ("lac.xlsx", "unroutable")]
    snv = next(d for d in done if d["path"] == "inbox/SNV/Báo cáo.xlsx")
    assert snv["programmes"] == ["lang-son", "ha-tinh"]
    html = (bucket / snv["receipt"]).read_text(encoding="utf-8")
    assert "lang-son/inbox/SNV/" in html and "ha-tinh/inbox/SNV/" in html
    assert "BỊ TỪ CHỐI" in html and "không còn được dùng" in html
    assert (bucket / snv["archive"]).read_bytes() == b"SNV data"  # kept, not deleted
    commune = next(d for d in done if d["path"] == "inbox/X-06040/bc.xlsx")
    text = (bucket / commune["receipt"]).read_text(encoding="utf-8")
    assert "lang-son/inbox/X-06040/" in text and "ha-tinh/inbox" not in text
    assert "lang-son/receipts/X-06040/" in text
    unknown = next(d for d in done if d["path"] == "inbox/KHONG-CO/bc.xlsx")
    assert "&lt;mã đơn vị&gt;" in (bucket / unknown["receipt"]).read_text(encoding="utf-8")
    # left alone: the lock file, the programme folders, a programme switched off
    assert (bucket / "inbox" / "SNV" / "~$Báo cáo.xlsx").exists()
    assert (bucket / "lang-son" / "inbox" / "SNV" / "bc.xlsx").exists()
    assert (bucket / "thai-nguyen" / "inbox" / "SNV" / "bc.xlsx").exists()
    assert sweep_misplaced(active_programmes()) == []  # answered once


def test_no_old_place_when_each_programme_has_its_own_bucket(baocao_env, tmp_path):
    from baocao.misplaced import sweep_misplaced

    baocao_env(bucket_url=f"file://{tmp_path}/{{programme}}-bucket", programmes="lang-son")
    put(tmp_path / "lang-son-bucket" / "inbox" / "SNV" / "bc.xlsx", b"x",
          datetime(2026, 6, 18, tzinfo=UTC))
    assert sweep_misplaced(["lang-son"]) == []
    assert (tmp_path / "lang-son-bucket" / "inbox" / "SNV" / "bc.xlsx").exists()


def test_an_old_bucket_moves_under_its_programme(baocao_env, tmp_path, capsys):
    from baocao.cli import main

    bucket = tmp_path / "bucket"
    baocao_env(bucket_url=f"file://{bucket}")
    when = datetime(2026, 6, 18, 2, tzinfo=UTC)
    put(bucket / "inbox" / "SNV" / "waiting.xlsx", b"w", when)
    put(bucket / "receipts" / "SNV" / "bc__01234567.html", b"r", when)
    put(bucket / "archive" / "accepted" / "SNV" / "2026-H1" / "a.xlsx", b"a", when)
    put(bucket / "templates" / "2026-H1" / "SNV.xlsx", b"t", when)
    put(bucket / "lang-son" / "templates" / "2026-H1" / "SNV.xlsx", b"t", when)  # same
    put(bucket / "lang-son" / "receipts" / "SNV" / "bc__01234567.html", b"other", when)
    assert main(["move-old-layout", "--programme", "lang-son", "--dry-run"]) == 1
    assert (bucket / "inbox" / "SNV" / "waiting.xlsx").exists()
    capsys.readouterr()
    assert main(["move-old-layout", "--programme", "lang-son"]) == 1  # one conflict
    out = capsys.readouterr()
    assert "conflict (left in place): receipts/SNV/bc__01234567.html" in out.err
    moved = bucket / "lang-son" / "inbox" / "SNV" / "waiting.xlsx"
    assert moved.read_bytes() == b"w" and moved.stat().st_mtime == when.timestamp()
    assert (bucket / "lang-son" / "archive" / "accepted" / "SNV" / "2026-H1" / "a.xlsx").exists()
    assert not (bucket / "templates" / "2026-H1" / "SNV.xlsx").exists()  # same bytes there
    assert (bucket / "receipts" / "SNV" / "bc__01234567.html").read_bytes() == b"r"
    assert (bucket / "lang-son" / "receipts" / "SNV" / "bc__01234567.html").read_bytes() == \
        b"other"
