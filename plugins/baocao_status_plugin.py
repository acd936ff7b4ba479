"""Airflow plugin: the reporting status page at ``/baocao/status`` and its entry in the UI nav.

The page itself lives in ``baocao.status_page`` (no Airflow import); this file only mounts it
in the API server behind Airflow's login. It must stay at the top of ``plugins/``:
``plugins/.airflowignore`` hides ``plugins/baocao/`` from the plugin loader.
"""

from __future__ import annotations

from typing import Annotated

from airflow.plugins_manager import AirflowPlugin
from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from baocao.status_page import create_app

URL_PREFIX = "/baocao"
NAV_LABEL = "Báo cáo"  # the status page of the units' reports ("Tình hình gửi báo cáo")
_bearer = HTTPBearer(auto_error=False)


async def require_viewer(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    """Let through users of Airflow's UI (JWT in the ``Authorization`` header or the UI's
    cookie); a browser without a session is sent to the login page and back."""
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.auth.managers.base_auth_manager import COOKIE_NAME_JWT_TOKEN
    from airflow.api_fastapi.auth.managers.models.resource_details import AccessView
    from airflow.api_fastapi.core_api.security import resolve_user_from_token

    header = credentials.credentials if credentials and \
        credentials.scheme.lower() == "bearer" else None
    try:
        user = await resolve_user_from_token(header or request.cookies.get(COOKIE_NAME_JWT_TOKEN))
    except HTTPException as exc:
        if header or exc.status_code != 401 or request.method != "GET":
            raise
        login = get_auth_manager().get_url_login(next_url=str(request.url))
        raise HTTPException(status_code=307, headers={"Location": login}) from exc
    if not get_auth_manager().is_authorized_view(access_view=AccessView.WEBSITE, user=user):
        raise HTTPException(status_code=403, detail="Forbidden")


class BaocaoStatusPlugin(AirflowPlugin):
    """The status page (FastAPI app) and a top-level nav entry that shows it in an iframe."""

    name = "baocao_status"
    fastapi_apps = [{"app": create_app(dependencies=[Depends(require_viewer)]),
                     "url_prefix": URL_PREFIX, "name": "Tình hình gửi báo cáo"}]
    # the nav shows about nine characters under its icons: a longer name is cut ("Tình hình …")
    external_views = [{"name": NAV_LABEL, "href": f"{URL_PREFIX}/status",
                       "url_route": "baocao-status", "destination": "nav",
                       "nav_top_level": True}]
