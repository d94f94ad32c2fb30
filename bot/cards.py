"""Link shares and cards as report text, the same on every platform: ``[分享] 标题`` / 摘要 / 链接.

The title must reach the classifier: a unit sharing its own published article is a news report.
"""

from __future__ import annotations

import html
import json
import re
from typing import Any

SHARE_MARK = "[分享]"
MAX_FIELD = 500


def _clean(value: Any) -> str:
    text = html.unescape(str(value or "")).strip()
    return re.sub(r"\s+", " ", text)[:MAX_FIELD]


def share_text(title: Any, url: Any = None, desc: Any = None) -> str | None:
    """``[分享] title`` then the description and the link, each on its own line; None without a title or link."""
    title, url, desc = _clean(title), _clean(url), _clean(desc)
    if not title and not url:
        return None
    lines = [f"{SHARE_MARK} {title}".rstrip()]
    if desc and desc != title:
        lines.append(desc)
    if url:
        lines.append(url)
    return "\n".join(lines)


def _first(mapping: dict[str, Any], *keys: str) -> Any:
    for key in keys:
        if mapping.get(key):
            return mapping[key]
    return None


def json_card_text(raw: Any) -> str | None:
    """A QQ ark card (OneBot ``json`` segment, ``data`` is a JSON string) as share text.

    ``meta.news`` (``com.tencent.structmsg``: title/desc/jumpUrl), ``meta.detail_1`` (mini programs: the app in
    ``title``, what is shared in ``desc``, the link in ``qqdocurl``), else any ``meta`` entry with a title and a
    link, else the card's ``prompt``.
    """
    try:
        card = json.loads(raw) if isinstance(raw, str) else raw
    except json.JSONDecodeError:
        return None
    if not isinstance(card, dict):
        return None
    meta = card.get("meta") if isinstance(card.get("meta"), dict) else {}
    news = meta.get("news")
    if isinstance(news, dict) and (news.get("title") or news.get("jumpUrl")):
        return share_text(news.get("title"), _first(news, "jumpUrl", "url"), news.get("desc"))
    detail = meta.get("detail_1")
    if isinstance(detail, dict) and (detail.get("desc") or detail.get("qqdocurl")):
        app = _clean(detail.get("title"))
        title = _clean(detail.get("desc")) + (f"（{app}）" if app else "")
        return share_text(title, _first(detail, "qqdocurl", "url"))
    for entry in meta.values():
        if isinstance(entry, dict) and entry.get("title") and _first(entry, "jumpUrl", "url", "qqdocurl"):
            return share_text(entry["title"], _first(entry, "jumpUrl", "url", "qqdocurl"), entry.get("desc"))
    prompt = _clean(card.get("prompt"))
    if prompt.startswith(("[分享]", "［分享］")):
        return share_text(prompt[4:])
    return None


_XML_ATTR = re.compile(r'\b(url|brief|actionData)\s*=\s*"([^"]*)"')
_XML_TAG = re.compile(r"<(title|summary)\b[^>]*>(.*?)</\1>", re.S)


def xml_card_text(raw: Any) -> str | None:
    """A QQ structured-message XML card (OneBot ``xml`` segment): ``<msg url=… brief=…><title/><summary/>``."""
    if not isinstance(raw, str) or "<" not in raw:
        return None
    attrs = {key: value for key, value in _XML_ATTR.findall(raw)}
    tags: dict[str, str] = {}
    for tag, value in _XML_TAG.findall(raw):
        tags.setdefault(tag, re.sub(r"<[^>]+>", "", value))
    url = attrs.get("url") or (attrs.get("actionData") if attrs.get("actionData", "").startswith("http") else None)
    title = tags.get("title") or (attrs.get("brief") or "").removeprefix("[分享]")
    return share_text(title, url, tags.get("summary"))
