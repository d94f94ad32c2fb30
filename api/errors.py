"""One error shape for every failure: ``{"error": {"code", "message" (Chinese), "details"}}``."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import DataError, IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException

from wenming import errors as domain

log = logging.getLogger(__name__)

_DEFAULT_CODES: dict[int, tuple[str, str]] = {
    400: ("bad_request", "请求有误"),
    401: ("unauthorized", "请先登录或提供有效的访问令牌"),
    403: ("forbidden", "没有权限执行此操作"),
    404: ("not_found", "资源不存在"),
    405: ("method_not_allowed", "不支持该请求方法"),
    409: ("conflict", "与现有数据冲突"),
    413: ("too_large", "请求内容过大"),
    415: ("unsupported_media_type", "不支持的内容类型"),
    422: ("validation_error", "提交的数据不符合要求"),
    429: ("rate_limited", "尝试次数过多，请稍后再试"),
    500: ("internal_error", "服务器内部错误，请联系管理员"),
    503: ("unavailable", "服务暂时不可用"),
}


class ErrorBody(BaseModel):
    code: str
    message: str
    details: Any = None


class ErrorResponse(BaseModel):
    """The body of every non-2xx answer."""

    error: ErrorBody


class ApiError(Exception):
    """An expected failure with an HTTP status, a stable code and a Chinese message."""

    def __init__(self, status: int, message: str | None = None, *, code: str | None = None, details: Any = None):
        default_code, default_message = _DEFAULT_CODES.get(status, ("error", "请求失败"))
        super().__init__(message or default_message)
        self.status = status
        self.code = code or default_code
        self.message = message or default_message
        self.details = details
        self.headers: dict[str, str] = {}


class NotFound(ApiError):
    def __init__(self, message: str = "资源不存在", details: Any = None):
        super().__init__(404, message, details=details)


class Conflict(ApiError):
    def __init__(self, message: str, details: Any = None):
        super().__init__(409, message, details=details)


class BadRequest(ApiError):
    def __init__(self, message: str, details: Any = None):
        super().__init__(400, message, details=details)


def from_domain(exc: domain.DomainError) -> ApiError:
    """What a service refused, as an HTTP answer: not found 404, conflict 409, too many tries 429, else 422."""
    status = 422
    if isinstance(exc, domain.NotFound):
        status = 404
    elif isinstance(exc, domain.Conflict):
        status = 409
    elif isinstance(exc, domain.RateLimited):
        status = 429
    return ApiError(status, exc.message, details=exc.details)


def error_response(
    status: int, message: str | None = None, *, code: str | None = None, details: Any = None
) -> JSONResponse:
    """Build the JSON error answer; also used where a handler must answer an error yet commit."""
    err = ApiError(status, message, code=code, details=details)
    body = ErrorResponse(error=ErrorBody(code=err.code, message=err.message, details=details))
    return JSONResponse(body.model_dump(), status_code=status)


_FIELD_MESSAGES = {
    "missing": "必填",
    "string_too_short": "太短",
    "string_too_long": "太长",
    "int_parsing": "应为整数",
    "float_parsing": "应为数字",
    "date_from_datetime_parsing": "应为日期（YYYY-MM-DD）",
    "date_parsing": "应为日期（YYYY-MM-DD）",
    "enum": "不是允许的取值",
    "literal_error": "不是允许的取值",
    "greater_than_equal": "太小",
    "less_than_equal": "太大",
    "extra_forbidden": "不允许的字段",
}


def _validation_details(exc: RequestValidationError) -> list[dict[str, Any]]:
    """Field-level problems, each with its location and a Chinese hint beside pydantic's own message."""
    out = []
    for err in exc.errors():
        out.append(
            {
                "loc": [str(p) for p in err.get("loc", ())],
                "type": err.get("type"),
                "message": _FIELD_MESSAGES.get(str(err.get("type")), "取值无效"),
                "detail": err.get("msg"),
            }
        )
    return out


def install_error_handlers(app: FastAPI) -> None:
    """Route every failure through the one error shape."""

    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, exc: ApiError) -> JSONResponse:
        response = error_response(exc.status, exc.message, code=exc.code, details=exc.details)
        response.headers.update(exc.headers)
        return response

    @app.exception_handler(domain.DomainError)
    async def _domain_error(request: Request, exc: domain.DomainError) -> JSONResponse:
        return await _api_error(request, from_domain(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = exc.detail if isinstance(exc.detail, str) and not exc.detail.isascii() else None
        response = error_response(exc.status_code, message)
        if exc.headers:
            response.headers.update(exc.headers)
        return response

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(422, details=_validation_details(exc))

    @app.exception_handler(IntegrityError)
    async def _integrity_error(_request: Request, exc: IntegrityError) -> JSONResponse:
        log.info("integrity error answered as 409: %s", exc.orig)
        return error_response(409, "与现有数据冲突（可能重复或仍被引用）")

    @app.exception_handler(DataError)
    async def _data_error(_request: Request, exc: DataError) -> JSONResponse:
        log.info("data error answered as 422: %s", exc.orig)
        return error_response(422, "提交的数据含有数据库无法保存的内容（如空字符或超出范围的数值）")

    @app.exception_handler(OverflowError)
    async def _overflow(_request: Request, exc: OverflowError) -> JSONResponse:
        return error_response(422, "数值超出可保存的范围")

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=exc)
        return error_response(500)
