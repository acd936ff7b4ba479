"""The one Jinja environment of the HTML and text templates (receipts, mails, status page)."""

from __future__ import annotations

from functools import lru_cache

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from baocao.text import nfc


@lru_cache(maxsize=4)
def _environment(templates_dir: str) -> Environment:
    return Environment(loader=FileSystemLoader(templates_dir),
                       autoescape=select_autoescape(["html", "j2"]), undefined=StrictUndefined)


def jinja_env(templates_dir: str | None = None) -> Environment:
    """The environment of ``templates_dir`` (default: the settings' templates folder),
    autoescaping HTML, failing on undefined names; compiled templates are kept per process."""
    from baocao.config import settings

    return _environment(templates_dir or str(settings().templates_dir))


def render(template: str, templates_dir: str | None = None, **values) -> str:
    """``template`` rendered with ``values``, NFC-normalised."""
    return nfc(jinja_env(templates_dir).get_template(template).render(**values))
