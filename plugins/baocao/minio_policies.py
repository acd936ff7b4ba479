"""Per-unit MinIO credentials: one IAM policy per unit, limited to the unit's own folders.

A unit may drop files only in its programme's ``<programme>/inbox/<unit>/``, read only its own
receipts (``<programme>/receipts/<unit>/``), its own blank forms
(``<programme>/templates/<period>/<unit>.xlsx``) and the periods' instructions
(``<programme>/templates/<period>/README.txt``, see ``pipeline.publish_forms``), and list only
its inbox and receipts folders. Nothing else of the bucket is visible to it: no other unit's
folder (the same code in another programme included), no archive, no delete. The layout is
the one of :mod:`baocao.layout`; ``prefix`` is the programme's key prefix in the bucket
(``lang-son/``, or ``""`` when each programme has a bucket of its own).

``write_policies`` writes ``<unit>.json`` files and ``create-users.sh``, a POSIX shell script
of ``mc admin policy create`` / ``mc admin user add`` / ``mc admin policy attach`` commands.
No secret is written anywhere: the script generates each unit's password when it runs.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from baocao.programme import Programme

POLICY_VERSION = "2012-10-17"
MAX_POLICY_CHARS = 2048  # `mc admin policy create` refuses larger documents
SCRIPT_NAME = "create-users.sh"
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
# Codes become S3 key prefixes, IAM resource patterns and MinIO user names: no wildcard,
# no slash, nothing the shell or IAM would read specially.
_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


@dataclass(frozen=True)
class UnitAccess:
    """One unit's MinIO identity: user name, policy name and policy document."""

    unit: str
    user: str
    policy_name: str
    policy: dict[str, Any]


def check_bucket(bucket: str) -> str:
    """The bucket name if it is a valid S3 bucket name, else ValueError."""
    if not _BUCKET.match(bucket) or ".." in bucket:
        raise ValueError(f"'{bucket}' is not a valid S3 bucket name")
    return bucket


def check_code(code: str) -> str:
    """The unit code if it is safe in keys, IAM patterns and user names, else ValueError."""
    if not _CODE.match(code):
        raise ValueError(f"unit code '{code}' cannot be used in a bucket policy "
                         "(letters, digits, '.', '_' and '-' only)")
    return code


def unit_policy(bucket: str, code: str, prefix: str = "") -> dict[str, Any]:
    """The IAM policy of unit ``code`` on ``bucket`` under the programme's key ``prefix``
    (dict, ready for ``json.dumps``)."""
    from baocao import layout

    arn = f"arn:aws:s3:::{check_bucket(bucket)}"
    code = check_code(code)
    for segment in prefix.rstrip("/").split("/") if prefix else []:
        check_code(segment)
    inbox, receipts = prefix + layout.unit_inbox(code), prefix + layout.unit_receipts(code)
    forms = prefix + layout.form_file("*", code)
    index = prefix + layout.forms_index("*")
    return {
        "Version": POLICY_VERSION,
        "Statement": [
            {"Sid": "ListOwnFolders", "Effect": "Allow", "Action": ["s3:ListBucket"],
             "Resource": [arn],
             "Condition": {"StringLike": {"s3:prefix": [f"{inbox}*", f"{receipts}*"]}}},
            {"Sid": "BucketLocation", "Effect": "Allow", "Action": ["s3:GetBucketLocation"],
             "Resource": [arn]},
            {"Sid": "DropFilesInOwnInbox", "Effect": "Allow",
             "Action": ["s3:PutObject", "s3:AbortMultipartUpload",
                        "s3:ListMultipartUploadParts"],
             "Resource": [f"{arn}/{inbox}*"]},
            {"Sid": "ReadOwnReceiptsAndForms", "Effect": "Allow", "Action": ["s3:GetObject"],
             "Resource": [f"{arn}/{receipts}*", f"{arn}/{forms}", f"{arn}/{index}"]},
        ],
    }


def unit_codes(prog: Programme, period: str | None = None) -> list[str]:
    """Distinct unit codes of a programme (all eras), or those expected for ``period``."""
    units = prog.expected_units(prog.period(period)) if period else prog.units
    return sorted({u.code for u in units})


def unit_user(programme: str, code: str) -> str:
    """The MinIO user of a unit: what its clerks log in with (forms and README say it)."""
    return f"{programme}-{check_code(code)}"


def unit_accesses(prog: Programme, bucket: str, period: str | None = None,
                  prefix: str | None = None) -> list[UnitAccess]:
    """One :class:`UnitAccess` per unit; user and policy names carry the programme code.
    ``prefix``: the programme's key prefix (default: the configured layout's)."""
    from baocao import layout

    if prefix is None:
        prefix = layout.programme_prefix(prog.code)
    out = []
    for code in unit_codes(prog, period):
        name = unit_user(prog.code, code)
        out.append(UnitAccess(unit=code, user=name, policy_name=f"baocao-{name}",
                              policy=unit_policy(bucket, code, prefix)))
    return out


def policy_json(policy: dict[str, Any]) -> str:
    """The policy as it is written to ``<unit>.json`` (checked against MinIO's size limit)."""
    text = json.dumps(policy, indent=2) + "\n"
    if len(text) > MAX_POLICY_CHARS:
        raise ValueError(f"policy of {len(text)} characters exceeds MinIO's {MAX_POLICY_CHARS}")
    return text


_SCRIPT_HEAD = """\
#!/bin/sh
# Generated by `baocao minio-policies` for programme {programme}, bucket {bucket}.
# Creates or updates one MinIO user per unit, each limited by its policy (<unit>.json beside
# this script) to {prefix}inbox/<unit>/ (upload), {prefix}receipts/<unit>/,
# {prefix}templates/*/<unit>.xlsx and {prefix}templates/*/README.txt (read).
#
#   mc alias set {alias} http://<minio-host>:9000 <admin-user>   # asks for the password
#   sh {script} [CREDENTIALS_FILE]
#
# Needs only POSIX sh, coreutils and mc (it runs in the minio/mc image too).
# MC_ALIAS overrides the alias. Passwords are generated here, when the script runs, and are
# written only to CREDENTIALS_FILE (default credentials.tsv beside this script, mode 600):
# hand each unit its own line. Users that already exist keep their password unless ROTATE=1.
set -eu
alias="${{MC_ALIAS:-{alias}}}"
here=$(cd "$(dirname "$0")" && pwd)
creds="${{1:-$here/credentials.tsv}}"
umask 077
[ -e "$creds" ] || printf 'unit\\tuser\\tpassword\\n' > "$creds"

new_password() {{
  LC_ALL=C tr -dc 'A-Za-z0-9' < /dev/urandom | head -c 32
}}

provision() {{  # provision UNIT USER POLICY
  mc admin policy create "$alias" "$3" "$here/$1.json" > /dev/null
  if [ "${{ROTATE:-0}}" != 1 ] && mc admin user info "$alias" "$2" > /dev/null 2>&1; then
    echo "$2: exists, password unchanged"
  else
    password=$(new_password)
    mc admin user add "$alias" "$2" "$password" > /dev/null
    printf '%s\\t%s\\t%s\\n' "$1" "$2" "$password" >> "$creds"
    echo "$2: password written to $creds"
  fi
  # attaching a policy that is already attached is an error for mc: check the result instead
  mc admin policy attach "$alias" "$3" --user "$2" > /dev/null 2>&1 || true
  info=$(mc admin user info "$alias" "$2")
  case "$info" in
    *"$3"*) ;;
    *) echo "$2: policy $3 is not attached" >&2; exit 1 ;;
  esac
}}

"""


def provisioning_script(accesses: list[UnitAccess], programme: str, bucket: str,
                        alias: str = "baocao", prefix: str = "") -> str:
    """The ``mc`` script that creates the policies and users (no secret inside)."""
    head = _SCRIPT_HEAD.format(programme=programme, bucket=bucket, alias=alias,
                               script=SCRIPT_NAME, prefix=prefix)
    lines = [f"provision {shlex.quote(a.unit)} {shlex.quote(a.user)} "
             f"{shlex.quote(a.policy_name)}" for a in accesses]
    return head + "\n".join(lines) + f"\necho \"{len(accesses)} unit(s) provisioned\"\n"


def write_policies(prog: Programme, bucket: str, out_dir: str | Path,
                   period: str | None = None, alias: str = "baocao",
                   prefix: str | None = None) -> list[Path]:
    """Write ``<unit>.json`` for every unit and the provisioning script; the paths written."""
    from baocao import layout

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    prefix = layout.programme_prefix(prog.code) if prefix is None else prefix
    accesses = unit_accesses(prog, bucket, period, prefix)
    written = []
    for a in accesses:
        path = out / f"{a.unit}.json"
        path.write_text(policy_json(a.policy), encoding="utf-8")
        written.append(path)
    script = out / SCRIPT_NAME
    script.write_text(provisioning_script(accesses, prog.code, bucket, alias, prefix),
                      encoding="utf-8")
    script.chmod(0o755)
    written.append(script)
    return written
