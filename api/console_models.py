"""Console pages for classifier versions: metrics, the retraining gate's verdict, activate / roll back.

Switching re-classifies every report, so it takes a confirmation page (the console's CSP allows no inline
script for a ``confirm()`` dialog); the switch is audited and the re-classification runs in the background.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from accounts.models import Role
from api.console import SignedIn, Staff, render
from api.deps import AppSettings, DbSession
from api.errors import ApiError
from classifier import jobs as classifier_jobs
from classifier import service as classifier_service
from classifier.models import Label
from classifier.registry import VersionError, VersionInfo

router = APIRouter(include_in_schema=False)


def _find(versions: list[VersionInfo], version: str) -> VersionInfo:
    for info in versions:
        if info.version == version:
            return info
    raise ApiError(404, f"模型版本 {version} 不存在")


@router.get("/system/models", response_class=HTMLResponse)
def models_page(
    request: Request, settings: AppSettings, me: Staff, saved: Annotated[str, Query(max_length=300)] = ""
) -> HTMLResponse:
    """Every version with its held-out numbers; admins get 启用 / 回退 links to the confirmation page."""
    versions = classifier_service.list_versions(settings)
    return render(request, "models.html", me, nav="system", versions=versions, labels=Label.choices(), saved=saved)


@router.get("/system/models/{version}/activate", response_class=HTMLResponse)
def confirm_page(request: Request, version: str, settings: AppSettings, me: Staff) -> HTMLResponse:
    """What switching means, side by side with the version in use, and the form that does it."""
    if not me.can(Role.ADMIN):
        raise ApiError(403, "只有管理员可以启用或回退模型版本")
    versions = classifier_service.list_versions(settings)
    target = _find(versions, version)
    current = next((v for v in versions if v.current), None)
    return render(
        request,
        "model_activate.html",
        me,
        nav="system",
        target=target,
        current=current,
        labels=Label.choices(),
        rollback=current is not None and versions.index(target) < versions.index(current),
    )


@router.post("/system/models/{version}/activate")
def activate(
    version: str,
    db: DbSession,
    settings: AppSettings,
    me: SignedIn,
    reason: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """Switch the model every process uses; audited, existing reports re-classified in the background."""
    if not me.can(Role.ADMIN):
        raise ApiError(403, "只有管理员可以启用或回退模型版本")
    try:
        info, jobs = classifier_jobs.request_activation(
            db, me.actor, settings, version, reason=reason.strip() or "控制台：启用模型版本"
        )
    except VersionError as exc:
        raise ApiError(404, str(exc)) from exc
    message = f"已启用模型版本 {info.version}；已排入 {jobs} 个后台任务重新分类已有报送（人工更正过的保持不变）"
    return RedirectResponse("/system/models?" + urlencode({"saved": message}), status_code=303)
