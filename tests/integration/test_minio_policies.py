"""Per-unit MinIO policies: valid IAM documents, each unit confined to its own folders.

Object-level decisions are evaluated by moto's IAM policy engine; moto ignores ``StringLike``
conditions, so ListBucket decisions (prefix conditions) use a small IAM matcher below.
"""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
from pathlib import Path

import pytest
from moto.iam.access_control import IAMPolicy, PermissionResult
from moto.iam.policy_validation import IAMPolicyDocumentValidator

from baocao.cli import main
from baocao.minio_policies import (
    MAX_POLICY_CHARS,
    SCRIPT_NAME,
    check_bucket,
    check_code,
    unit_accesses,
    unit_codes,
    unit_policy,
    write_policies,
)
from baocao.programme import load_programme

BUCKET = "baocao-intake"
ARN = f"arn:aws:s3:::{BUCKET}"


def _iam_match(pattern: str, value: str) -> bool:
    """IAM wildcard match: ``*`` any run of characters (``/`` included), ``?`` one."""
    rx = re.escape(pattern).replace(r"\*", ".*").replace(r"\?", ".")
    return re.fullmatch(rx, value) is not None


def _listable(policy: dict, prefix: str, bucket: str = BUCKET) -> bool:
    """Does an Allow statement grant s3:ListBucket on ``bucket`` for ``prefix``?"""
    for st in policy["Statement"]:
        if st["Effect"] != "Allow" or not any(_iam_match(a, "s3:ListBucket")
                                              for a in st["Action"]):
            continue
        if not any(_iam_match(r, f"arn:aws:s3:::{bucket}") for r in st["Resource"]):
            continue
        cond = st.get("Condition", {})
        assert set(cond) <= {"StringLike"}, f"unexpected condition operator {cond}"
        patterns = cond.get("StringLike", {}).get("s3:prefix")
        if patterns is None or any(_iam_match(p, prefix) for p in patterns):
            return True
    return False


def _can(engine: IAMPolicy, action: str, key: str, bucket: str = BUCKET) -> bool:
    result = engine.is_action_permitted(action, f"arn:aws:s3:::{bucket}/{key}")
    return result == PermissionResult.PERMITTED


def _own(code: str, engine: IAMPolicy, policy: dict, p: str = "") -> None:
    """Everything unit ``code`` needs in its programme's folders (key prefix ``p``)."""
    assert _can(engine, "s3:PutObject", f"{p}inbox/{code}/Báo cáo 6 tháng.xlsx")
    assert _can(engine, "s3:PutObject", f"{p}inbox/{code}/2026/bao-cao.xlsx")
    assert _can(engine, "s3:GetObject", f"{p}receipts/{code}/bao-cao__1a2b3c4d.html")
    assert _can(engine, "s3:GetObject", f"{p}templates/2026-H1/{code}.xlsx")
    assert _can(engine, "s3:GetObject", f"{p}templates/2026-H1/README.txt")  # instructions
    assert _listable(policy, f"{p}inbox/{code}/") and _listable(policy, f"{p}receipts/{code}/")
    # nothing else on its own folders
    assert not _can(engine, "s3:DeleteObject", f"{p}inbox/{code}/bao-cao.xlsx")
    assert not _can(engine, "s3:GetObject", f"{p}inbox/{code}/bao-cao.xlsx")
    assert not _can(engine, "s3:PutObject", f"{p}receipts/{code}/fake.html")
    assert not _can(engine, "s3:PutObject", f"{p}templates/2026-H1/{code}.xlsx")
    assert not _can(engine, "s3:GetObject", f"{p}archive/accepted/{code}/2026-H1/bao-cao.xlsx")
    assert not _can(engine, "s3:PutObject", f"{p}inbox/{code}/x.xlsx", bucket="baocao-outbox")


def _foreign(other: str, engine: IAMPolicy, policy: dict, p: str = "") -> None:
    """Nothing of another unit's folders (including units whose code starts the same)."""
    assert not _can(engine, "s3:PutObject", f"{p}inbox/{other}/bao-cao.xlsx")
    assert not _can(engine, "s3:GetObject", f"{p}receipts/{other}/bao-cao__1a2b3c4d.html")
    assert not _can(engine, "s3:GetObject", f"{p}templates/2026-H1/{other}.xlsx")
    assert not _listable(policy, f"{p}inbox/{other}/")
    assert not _listable(policy, f"{p}receipts/{other}/")


def _own_and_foreign(code: str, other: str, engine: IAMPolicy, policy: dict) -> None:
    _own(code, engine, policy)
    _foreign(other, engine, policy)


def test_policy_is_a_valid_iam_document_within_minio_limits():
    for code in ("CAT", "X-06001", "BCSD-UBND"):
        text = json.dumps(unit_policy(BUCKET, code))
        IAMPolicyDocumentValidator(text).validate()  # raises MalformedPolicyDocument
        assert len(json.dumps(unit_policy(BUCKET, code), indent=2)) < MAX_POLICY_CHARS


@pytest.mark.parametrize("code", ["lang-son", "ha-tinh", "lam-dong"])
def test_every_unit_confined_to_its_own_prefix(code):
    prog = load_programme(code)
    accesses = unit_accesses(prog, BUCKET)
    codes = [a.unit for a in accesses]
    assert codes == sorted({u.code for u in prog.units})
    assert len({a.user for a in accesses}) == len(accesses)
    for a in accesses:
        engine = IAMPolicy(json.dumps(a.policy))
        _own(a.unit, engine, a.policy, f"{code}/")
        for other in codes:
            if other != a.unit:
                _foreign(other, engine, a.policy, f"{code}/")


def test_the_same_unit_code_in_two_programmes_sees_only_its_own_programme():
    """SNV exists in both provinces: each SNV user reaches only its programme's folders,
    and nothing in the bucket's old (pre-programme) places."""
    lang_son, ha_tinh = (load_programme(c) for c in ("lang-son", "ha-tinh"))
    [ls] = [a for a in unit_accesses(lang_son, BUCKET) if a.unit == "SNV"]
    [ht] = [a for a in unit_accesses(ha_tinh, BUCKET) if a.unit == "SNV"]
    assert ls.user != ht.user and ls.policy_name != ht.policy_name
    for mine, theirs, other in ((ls, "lang-son/", "ha-tinh/"), (ht, "ha-tinh/", "lang-son/")):
        engine = IAMPolicy(json.dumps(mine.policy))
        _own("SNV", engine, mine.policy, theirs)
        _foreign("SNV", engine, mine.policy, other)
        _foreign("SNV", engine, mine.policy)  # the old inbox/SNV/, receipts/SNV/


def test_prefix_like_codes_do_not_leak():
    """``BTG`` must not reach ``BTGDV``'s folders, nor the reverse."""
    for code, other in (("BTG", "BTGDV"), ("BTGDV", "BTG"), ("X-0600", "X-06001")):
        policy = unit_policy(BUCKET, code)
        engine = IAMPolicy(json.dumps(policy))
        _own_and_foreign(code, other, engine, policy)
        assert not _can(engine, "s3:GetObject", f"templates/2026-H1/A{code}.xlsx")


def test_listing_the_bucket_root_or_shared_folders_is_denied():
    policy = unit_policy(BUCKET, "CAT")
    for prefix in ("", "inbox/", "receipts/", "archive/", "templates/", "templates/2026-H1/",
                   "inbox/CAT", "receipts/CA"):
        assert not _listable(policy, prefix), prefix
    assert _listable(policy, "inbox/CAT/sub/")


@pytest.mark.parametrize("bad", ["A/B", "A*", "A?", "", "-X", "Ủy ban", "a b", "x;rm"])
def test_unsafe_unit_codes_are_refused(bad):
    with pytest.raises(ValueError):
        check_code(bad)


@pytest.mark.parametrize("bad", ["Baocao", "ab", "bucket/inbox", "a..b", "-abc", "x" * 64])
def test_invalid_bucket_names_are_refused(bad):
    with pytest.raises(ValueError):
        check_bucket(bad)


def test_period_restricts_to_expected_units():
    prog = load_programme("lang-son")
    expected = {u.code for u in prog.expected_units(prog.period("2026-H1"))}
    assert set(unit_codes(prog, "2026-H1")) == expected
    assert expected < set(unit_codes(prog))  # the districts ended in 2025


def _fake_mc(bin_dir: Path, state: Path) -> None:
    """An ``mc`` that records its calls and keeps users/policies as files under ``state``."""
    script = bin_dir / "mc"
    script.write_text(f"""#!/bin/sh
state={state}
echo "$*" >> "$state/calls.log"
case "$1 $2 $3" in
  "admin policy create") cp "$6" "$state/policy-$5.json" ;;
  "admin user add") echo "$6" > "$state/user-$5" ;;
  "admin user info") [ -e "$state/user-$5" ] || exit 1
                     echo "AccessKey: $5"; cat "$state/attached-$5" 2>/dev/null || true ;;
  "admin policy attach")
    [ -e "$state/user-$7" ] || exit 1
    grep -q "PolicyName: $5" "$state/attached-$7" 2>/dev/null && exit 1
    echo "PolicyName: $5" >> "$state/attached-$7" ;;
  *) exit 2 ;;
esac
""")
    script.chmod(0o755)


def test_cli_writes_policies_and_a_script_without_secrets(tmp_path):
    out = tmp_path / "policies"
    assert main(["minio-policies", "--programme", "ha-tinh", "--bucket", BUCKET,
                 "--out", str(out), "--period", "2026-H1"]) == 0
    prog = load_programme("ha-tinh")
    codes = unit_codes(prog, "2026-H1")
    assert sorted(p.stem for p in out.glob("*.json")) == codes
    for code in codes:
        assert json.loads((out / f"{code}.json").read_text()) == \
            unit_policy(BUCKET, code, "ha-tinh/")
    script = (out / SCRIPT_NAME).read_text()
    assert os.access(out / SCRIPT_NAME, os.X_OK)
    assert script.count("\nprovision ") == len(codes)
    # passwords only come from the generator at run time
    assert re.findall(r'mc admin user add "\$alias" "\$2" "([^"]+)"', script) == ["$password"]
    assert "MINIO_ROOT_PASSWORD" not in script and "minioadmin" not in script


def test_generated_script_provisions_users_with_fresh_passwords(tmp_path):
    prog = load_programme("lang-son")
    out = tmp_path / "out"
    write_policies(prog, BUCKET, out, period="2026-H1")
    state, bin_dir = tmp_path / "state", tmp_path / "bin"
    state.mkdir()
    bin_dir.mkdir()
    _fake_mc(bin_dir, state)
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "MC_ALIAS": "prod"}
    creds = tmp_path / "creds.tsv"

    def run(**extra):
        return subprocess.run(["sh", str(out / SCRIPT_NAME), str(creds)], env={**env, **extra},
                              capture_output=True, text=True, timeout=120)

    done = run()
    assert done.returncode == 0, done.stderr
    accesses = unit_accesses(prog, BUCKET, "2026-H1")
    rows = [line.split("\t") for line in creds.read_text().splitlines()[1:]]
    assert [r[:2] for r in rows] == [[a.unit, a.user] for a in accesses]
    passwords = [r[2] for r in rows]
    assert len(set(passwords)) == len(passwords)
    assert all(re.fullmatch(r"[A-Za-z0-9]{32}", p) for p in passwords)
    assert stat.S_IMODE(creds.stat().st_mode) == 0o600
    for a, pw in zip(accesses, passwords, strict=True):
        assert (state / f"user-{a.user}").read_text().strip() == pw
        assert json.loads((state / f"policy-{a.policy_name}.json").read_text()) == a.policy
        assert (state / f"attached-{a.user}").read_text() == f"PolicyName: {a.policy_name}\n"
    assert all(line.split()[3] == "prod" for line in
               (state / "calls.log").read_text().splitlines())

    # a second run keeps existing users' passwords; ROTATE=1 replaces them
    again = run()
    assert again.returncode == 0, again.stderr
    assert len(creds.read_text().splitlines()) == 1 + len(accesses)
    assert "password unchanged" in again.stdout
    rotated = run(ROTATE="1")
    assert rotated.returncode == 0, rotated.stderr
    new = [line.split("\t")[2] for line in creds.read_text().splitlines()[1 + len(accesses):]]
    assert len(new) == len(accesses) and not set(new) & set(passwords)


def test_script_fails_when_the_policy_is_not_attached(tmp_path):
    prog = load_programme("lang-son")
    out = tmp_path / "out"
    write_policies(prog, BUCKET, out, period="2026-H1")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    # an mc whose attach silently does nothing
    (bin_dir / "mc").write_text('#!/bin/sh\ncase "$2 $3" in "user info") echo ok;; esac\n')
    (bin_dir / "mc").chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "ROTATE": "1"}
    done = subprocess.run(["sh", str(out / SCRIPT_NAME), str(tmp_path / "c.tsv")], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert "is not attached" in done.stderr


def test_cli_needs_a_bucket_when_the_bucket_url_is_local(tmp_path, capsys):
    assert main(["minio-policies", "--programme", "lang-son", "--out", str(tmp_path)]) == 2
    assert "--bucket is required" in capsys.readouterr().err


def test_each_unit_reads_exactly_its_published_form_and_the_instructions(tmp_path):
    """Against the bucket layout the pipeline really writes (``publish_forms``)."""
    from airflow.sdk import ObjectStoragePath

    from baocao.publishing import publish_forms

    bucket = ObjectStoragePath(f"file://{tmp_path}/bucket")
    publish_forms("lang-son", "2026-H1", root=bucket / "lang-son")
    root = bucket / "lang-son"
    base = str(bucket.path).rstrip("/") + "/"
    keys = {str(p.path).removeprefix(base) for p in root.rglob("*") if p.is_file()}
    prog = load_programme("lang-son")
    accesses = unit_accesses(prog, BUCKET, "2026-H1")
    assert len(keys) == len(accesses) + 1
    instructions = (root / "templates/2026-H1/README.txt").read_text()
    for a in accesses:
        engine = IAMPolicy(json.dumps(a.policy))
        readable = {k for k in keys if _can(engine, "s3:GetObject", k)}
        assert readable == {f"lang-son/templates/2026-H1/{a.unit}.xlsx",
                            "lang-son/templates/2026-H1/README.txt"}
        assert f"lang-son/inbox/{a.unit}/" in instructions
