"""The bucket layout: where units drop files, where answers and blank forms go.

One module that every other asks, so the layout can change in one place. A deployment serves
several programmes (``baocao.config.active_programmes``) whose unit codes overlap ("SNV"
exists in every province), so each programme has its own root, by default a folder of the
shared bucket named by the programme's code::

    <programme>/inbox/<unit>/<any name>.xlsx            units drop filled forms here
    <programme>/receipts/<unit>/<name>__<sum>.html      the answer to each file
    <programme>/templates/<period>/<unit>.xlsx          blank forms (+ README.txt)
    <programme>/archive/{accepted,rejected,duplicates,unroutable}/...

``BAOCAO_BUCKET_URL`` may instead contain ``{programme}`` to give each programme its own
bucket (``s3://baocao-{programme}``) or folder (``s3://intake/{programme}``).

Three kinds of paths live here:

* relative to a programme's root (``unit_inbox``, ``receipt_file``, ``archive_*``, …): what
  the intake writes and the warehouse records (``programme_url`` gives the root);
* clerk-facing (``drop_location``, ``receipts_location``, ``form_path``): the place as a clerk
  finds it in the bucket they open, e.g. ``lang-son/inbox/SNV/``;
* the shared bucket's root (``shared_bucket_url``), where the layout before programmes had
  ``inbox/<unit>/``: a file dropped there is answered with where it belongs
  (``baocao.misplaced``).
"""

from __future__ import annotations

import re

INBOX = "inbox"
RECEIPTS = "receipts"
TEMPLATES = "templates"
ARCHIVE = "archive"
RESERVED = frozenset({INBOX, RECEIPTS, TEMPLATES, ARCHIVE})
IGNORED_PREFIXES = ("~$", ".", "_")  # Excel lock files, hidden and partial uploads
PLACEHOLDER = "{programme}"
_CODE = re.compile(r"^[a-z0-9][a-z0-9._-]*$")


def check_programme(code: str) -> str:
    """``code`` if it can name a programme's folder (lower-case letters, digits, '.', '_',
    '-'; not one of the layout's own folder names), else ValueError."""
    if not _CODE.match(code or "") or code in RESERVED or ".." in code:
        raise ValueError(f"programme code '{code}' cannot name a folder of the bucket "
                         "(lower-case letters, digits, '.', '_' and '-'; not "
                         f"{', '.join(sorted(RESERVED))})")
    return code


def _bucket_url(bucket_url: str | None) -> str:
    if bucket_url:
        return bucket_url
    from baocao.config import settings

    return settings().bucket_url


def programme_url(programme: str, bucket_url: str | None = None) -> str:
    """The URL of a programme's root: ``<bucket>/<programme>``, or the configured URL with
    ``{programme}`` replaced."""
    url = _bucket_url(bucket_url)
    code = check_programme(programme)
    if PLACEHOLDER in url:
        return url.replace(PLACEHOLDER, code).rstrip("/")
    return f"{url.rstrip('/')}/{code}"


def shared_bucket_url(bucket_url: str | None = None) -> str | None:
    """The root above the programme folders (where units dropped files before the layout
    had programmes); None when each programme has a bucket of its own."""
    url = _bucket_url(bucket_url)
    if PLACEHOLDER not in url:
        return url.rstrip("/")
    head, _sep, tail = url.partition(PLACEHOLDER)
    if tail.strip("/") or not head.endswith("/") or head.endswith("://"):
        return None
    return head.rstrip("/")


def programme_prefix(programme: str, bucket_url: str | None = None) -> str:
    """The key prefix of a programme's folders inside the bucket a clerk opens:
    ``lang-son/`` for ``s3://baocao-intake``, ``""`` for ``s3://baocao-{programme}``."""
    root = programme_url(programme, bucket_url)
    scheme, _sep, rest = root.partition("://")
    if scheme != "file" and rest:  # object store: the key after the bucket's name
        key = rest.partition("/")[2].strip("/")
    else:
        shared = shared_bucket_url(bucket_url)
        key = root[len(shared):].strip("/") if shared else ""
    return f"{key}/" if key else ""


def bucket_name(programme: str, bucket_url: str | None = None) -> str:
    """The bucket a programme's clerks open (an S3 bucket's name, or a local folder)."""
    root = programme_url(programme, bucket_url)
    scheme, _sep, rest = root.partition("://")
    if scheme != "file" and rest:
        return rest.partition("/")[0]
    shared = shared_bucket_url(bucket_url)
    return (shared or root).partition("://")[2] or root


def safe_name(name: str) -> str:
    """``name`` as a file or folder name safe in any bucket: letters (Vietnamese included),
    digits and `` ._-()`` kept, anything else "_", at most 150 characters."""
    keep = "".join(ch if ch.isalnum() or ch in " ._-()" else "_" for ch in name)
    return keep.strip()[:150] or "tep"


# ----- relative to a programme's root --------------------------------------------------------
def unit_inbox(unit_code: str) -> str:
    """Where a unit drops its filled forms: ``inbox/<unit>/``."""
    return f"{INBOX}/{unit_code}/"


def unit_receipts(unit_code: str) -> str:
    """Where a unit finds the answers to its files: ``receipts/<unit>/``."""
    return f"{RECEIPTS}/{unit_code}/"


def receipt_file(unit: str, stem: str, checksum: str, tag: str = "") -> str:
    """One answer: ``receipts/<unit>/<stem>__<sum8>[__<tag>].html`` (parts already made
    safe for keys by the caller)."""
    return f"{unit_receipts(unit)}{stem}__{checksum[:8]}{f'__{tag}' if tag else ''}.html"


def period_templates(period_code: str) -> str:
    """The folder of a period's blank forms and their ``README.txt``."""
    return f"{TEMPLATES}/{period_code}/"


def form_file(period_code: str, unit_code: str) -> str:
    """A unit's blank form for a period: ``templates/<period>/<unit>.xlsx``."""
    return f"{period_templates(period_code)}{unit_code}.xlsx"


def forms_index(period_code: str) -> str:
    """The period's list of units and drop folders: ``templates/<period>/README.txt``."""
    return f"{period_templates(period_code)}README.txt"


def archive_accepted(unit: str, period: str, checksum: str, name: str) -> str:
    return f"{ARCHIVE}/accepted/{unit}/{period}/{checksum[:8]}__{name}"


def archive_rejected(unit: str, checksum: str, name: str) -> str:
    return f"{ARCHIVE}/rejected/{unit}/{checksum[:8]}__{name}"


def archive_duplicate(unit: str, stamp: str, name: str) -> str:
    return f"{ARCHIVE}/duplicates/{unit}/{stamp}__{name}"


def archive_unroutable(where: str, stamp: str, name: str) -> str:
    """A file dropped outside a unit folder (``where``: ``root`` or ``inbox``)."""
    return f"{ARCHIVE}/unroutable/{where}/{stamp}__{name}"


def archive_misplaced(unit: str, stamp: str, name: str) -> str:
    """Under the shared bucket's root: a file dropped in the old ``inbox/<unit>/``."""
    return f"{ARCHIVE}/misplaced/{unit}/{stamp}__{name}"


# ----- clerk-facing ---------------------------------------------------------------------------
def drop_location(programme: str, unit_code: str) -> str:
    """The folder a clerk of ``unit_code`` puts files in, as shown in forms and receipts:
    ``lang-son/inbox/SNV/``."""
    return programme_prefix(programme) + unit_inbox(unit_code)


def receipts_location(programme: str, unit_code: str) -> str:
    """The folder a clerk reads the answers from: ``lang-son/receipts/SNV/``."""
    return programme_prefix(programme) + unit_receipts(unit_code)


def form_path(programme: str, period_code: str, unit_code: str) -> str:
    """A unit's blank form as a clerk finds it: ``lang-son/templates/2026-Y/SNV.xlsx``."""
    return programme_prefix(programme) + form_file(period_code, unit_code)


def templates_location(programme: str, period_code: str) -> str:
    """The folder of a period's blank forms as a clerk finds it."""
    return programme_prefix(programme) + period_templates(period_code)
