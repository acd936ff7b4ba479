"""Programme files: all shipped ones load; every kind of broken file is refused clearly."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from support import PROGRAMMES

from baocao.programme import ProgrammeError, list_programme_files, load_programme_file


def test_all_shipped_programmes_load():
    files = list_programme_files(PROGRAMMES)
    assert {f.stem for f in files} >= {"lang-son"}
    for f in files:
        prog = load_programme_file(f)
        assert prog.units and prog.rules


def test_period_codes(programme):
    h1 = programme.period("2026-H1")
    assert (h1.cutoff_start.isoformat(), h1.cutoff_end.isoformat(), h1.deadline.isoformat()) \
        == ("2025-12-15", "2026-06-14", "2026-06-20")
    y = programme.period("2026-Y")
    assert (y.cutoff_end.isoformat(), y.deadline.isoformat()) == ("2026-12-14", "2026-12-21")
    for bad in ("2026-H2", "2026", "26-H1", "2026-y"):
        with pytest.raises(ValueError):
            programme.period(bad)


def _broken(tmp_path: Path, mutate) -> Path:
    shutil.copy(PROGRAMMES / "common.yaml", tmp_path / "common.yaml")
    data = yaml.safe_load((PROGRAMMES / "lang-son.yaml").read_text(encoding="utf-8"))
    mutate(data)
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def _unit(data, code):
    return next(u for u in data["units"] if u["code"] == code)


@pytest.mark.parametrize("mutate, expected", [
    (lambda d: d.setdefault("rules", []).append({
        "code": "X-1", "severity": "error", "scope": "submission", "left": ["W_NOPE"],
        "op": "<=", "right": ["W_RETURNED"], "message": "m"}),
     "(X-1): unknown indicator 'W_NOPE'"),
    (lambda d: _unit(d, "CAT").pop("valid_from"),
     "(CAT).valid_from: Field required"),
    (lambda d: d["units"].append({**_unit(d, "CAT"), "valid_from": "2024-01-01"}),
     "code 'CAT' has overlapping validity"),
    (lambda d: _unit(d, "SLDTBXH").update(successors=["SO-KHONG-CO"]),
     "(SLDTBXH): successor 'SO-KHONG-CO' is not a unit of the programme"),
    (lambda d: d["budget"]["parts"][0].update(amount=5000),
     "budget: parts add up to 153000, not the stated total 153459"),
    (lambda d: d.update(periods={"H": {"name": "6 tháng", "cutoff_start": "-12-15",
                                        "cutoff_end": "06-14", "deadline": "06-10"},
                                  "Y": {"name": "năm", "cutoff_start": "-12-15",
                                        "cutoff_end": "12-14", "deadline": "12-21"}}),
     "periods.H: deadline 2023-06-10 is not after the cut-off end 2023-06-14"),
])
def test_broken_programme_is_refused_with_place(tmp_path, mutate, expected):
    path = _broken(tmp_path, mutate)
    with pytest.raises(ProgrammeError) as err:
        load_programme_file(path)
    assert str(path) in str(err.value)
    assert expected in str(err.value)


def test_rule_with_unknown_member_fails_at_load(tmp_path):
    path = _broken(tmp_path, lambda d: d.setdefault("rules", []).append({
        "code": "X-2", "severity": "warning", "scope": "rows", "indicator": "W_DEP",
        "left": ["children"], "op": "<=", "right": ["total"], "message": "m"}))
    with pytest.raises(ProgrammeError, match="unknown member 'children' of dimension 'group'"):
        load_programme_file(path)


def test_user_text_is_nfc(programme):
    import unicodedata

    for u in programme.units:
        assert unicodedata.is_normalized("NFC", u.name)
