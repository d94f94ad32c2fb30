"""Import a chat-history export: detect the format, skip what the bot already captured live, hand to ingest."""

from __future__ import annotations

import csv
import io
import json
import re
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.history.media import MediaFolder, MediaFolderError
from bot.history.qq_exports import QQ_TXT_HEADER, parse_qce_json, parse_qq_txt
from bot.history.records import IMAGE_PLACEHOLDER, HistoryFormatError, HistoryRecord, read_text
from bot.history.wechat_exports import parse_pywxdump_csv, parse_wechatmsg_csv, parse_wechatmsg_txt
from classifier import pipeline
from ingest.models import ChatGroup, MessageKind, Platform, RawMessage, RawStatus, Report, Unit
from ingest.schemas import IncomingMessage, MediaContent
from wenming.db import transaction
from wenming.settings import Settings

PARSERS: dict[str, Callable[[Path], Iterator[HistoryRecord]]] = {
    "wechatmsg-csv": parse_wechatmsg_csv,
    "wechatmsg-txt": parse_wechatmsg_txt,
    "pywxdump-csv": parse_pywxdump_csv,
    "qq-txt": parse_qq_txt,
    "qce-json": parse_qce_json,
}
FORMAT_NAMES = {
    "wechatmsg-csv": "WeChatMsg CSV",
    "wechatmsg-txt": "WeChatMsg TXT",
    "pywxdump-csv": "PyWxDump CSV",
    "qq-txt": "QQ 电脑版 TXT",
    "qce-json": "qq-chat-exporter JSON",
}
LIVE_WINDOW = timedelta(seconds=90)  # exports round or shift times a little against live capture
BATCH = 200


def detect_format(path: Path) -> str:
    """Guess the export format from the content (not just the extension)."""
    text, _ = read_text(path)
    head = text.lstrip()[:20000]
    if head.startswith("{"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError:
            data = None
        if isinstance(data, dict) and "chatInfo" in data and "messages" in data:
            return "qce-json"
    first = next(csv.reader(io.StringIO(head.splitlines()[0] if head else "")), [])
    if {"localId", "StrContent", "CreateTime"} <= set(first):
        return "wechatmsg-csv"
    if {"MsgSvrID", "type_name", "talker"} <= set(first):
        return "pywxdump-csv"
    lines = head.splitlines()
    if any(QQ_TXT_HEADER.match(line) for line in lines) or any(line.startswith("消息对象") for line in lines):
        return "qq-txt"
    if lines and re.match(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} .+$", lines[0]):
        return "wechatmsg-txt"
    raise HistoryFormatError("无法识别导出格式，请用 --format 指定（" + "、".join(PARSERS) + "）")


@dataclass
class ImportSummary:
    """What an import did (or, with ``dry_run``, would do), for the closing table."""

    format: str
    group_name: str
    dry_run: bool = False
    total: int = 0
    stored: int = 0
    already_imported: int = 0
    captured_live: int = 0
    rejected: int = 0
    kinds: Counter[str] = field(default_factory=Counter)
    first: datetime | None = None
    last: datetime | None = None
    errors: list[str] = field(default_factory=list)  # each names its line: "第 12 行：…"
    photos_attached: int = 0  # photos found in the --media folder
    photos_missing: int = 0  # photo placeholders with no file found (kept as messages)
    messages: Counter[str] = field(default_factory=Counter)  # stored messages by outcome: assembled, chatter…
    reports_by_unit: list[tuple[str | None, int]] = field(default_factory=list)  # None: no unit
    unresolved_senders: list[tuple[str, int]] = field(default_factory=list)  # senders of unassigned reports
    stored_ids: list[int] = field(default_factory=list, repr=False)


def _resolve_group(session: Session, platform: Platform, name: str, given_id: str | None) -> tuple[str, int | None]:
    """The group's platform id and, when it is already stored, its primary key."""
    key = _group_key(session, platform, name, given_id)
    pk = session.scalars(
        select(ChatGroup.id).where(ChatGroup.platform == platform.value, ChatGroup.platform_id == key)
    ).first()
    return key, pk


def _group_key(session: Session, platform: Platform, name: str, given_id: str | None) -> str:
    """WeChat groups are keyed by name; a QQ group by its number, looked up by name if not given."""
    if platform is Platform.WECHAT or given_id:
        return given_id if platform is Platform.QQ and given_id else name
    known = session.scalars(
        select(ChatGroup.platform_id).where(ChatGroup.platform == platform.value, ChatGroup.name == name)
    ).first()
    return known or name


def _norm(text: str | None) -> str:
    return "".join((text or "").split())


def _same(raw: RawMessage, message: IncomingMessage) -> bool:
    """Equivalent content: equal text, or an exported photo (or its placeholder) against a captured photo."""
    if message.kind is MessageKind.IMAGE:  # a photo from --media: only a stored photo of the sender is the same
        return raw.kind == MessageKind.IMAGE.value and raw.sender_name == message.sender_name
    if message.kind is MessageKind.OTHER and message.text == IMAGE_PLACEHOLDER:
        if raw.sender_name != message.sender_name:
            return False
        return raw.kind == MessageKind.IMAGE.value or (raw.kind == message.kind.value and raw.text == message.text)
    return raw.kind == message.kind.value and _norm(raw.text) == _norm(message.text) != ""


@dataclass
class _Matched:
    """Stored messages already matched in this import, and the ids the export's messages are stored under."""

    used: set[int] = field(default_factory=set)
    stored_as: dict[str, str] = field(default_factory=dict)  # export message id → stored platform message id


def _already_there(
    session: Session, group_pk: int | None, message: IncomingMessage, matched: _Matched
) -> RawMessage | None:
    """An equivalent stored message (not yet matched) near that time, captured live or imported before."""
    if group_pk is None:
        return None
    window = session.scalars(
        select(RawMessage).where(
            RawMessage.group_id == group_pk,
            RawMessage.sent_at >= message.sent_at - LIVE_WINDOW,
            RawMessage.sent_at <= message.sent_at + LIVE_WINDOW,
        )
    )
    for raw in window:
        if raw.id not in matched.used and _same(raw, message):
            matched.used.add(raw.id)  # five photos in a row match five stored photos, one each
            if message.message_id and raw.platform_message_id:
                matched.stored_as[message.message_id] = raw.platform_message_id
            return raw
    return None


def _incoming(
    record: HistoryRecord, group_key: str, group_name: str, settings: Settings, photo: tuple[bytes, str] | None
) -> IncomingMessage:
    assert record.sent_at is not None
    sent_at = record.sent_at if record.sent_at.tzinfo else record.sent_at.replace(tzinfo=settings.tz)
    kind, text, media = record.kind, record.text, None
    if photo is not None:  # the export's placeholder, with the file found in --media
        kind, text, media = MessageKind.IMAGE, None, MediaContent(data=photo[0], original_name=photo[1][:500])
    return IncomingMessage(
        platform=record.platform,
        group_id=group_key,
        group_name=group_name,
        sender_id=record.sender_id,
        sender_name=record.sender_name,
        other_names=record.other_names[:5],
        message_id=record.message_id,
        sent_at=sent_at,
        kind=kind,
        text=text,
        media=media,
        from_self=record.from_self,
        recalls_message_id=record.recalls_message_id,
        payload={"history": record.source},
    )


@dataclass
class _Photos:
    """Finds each placeholder's file in the --media folder; counts photos per second for the HTML's order."""

    folder: MediaFolder | None
    seen_at: Counter[int] = field(default_factory=Counter)

    def find(self, record: HistoryRecord, summary: ImportSummary) -> tuple[bytes, str] | None:
        if record.media is None or record.kind is not MessageKind.OTHER:
            return None
        stamp = record.source.get("CreateTime")
        ordinal = self.seen_at[stamp] if isinstance(stamp, int) else 0
        if isinstance(stamp, int):
            self.seen_at[stamp] += 1
        if self.folder is None:
            return None
        path = self.folder.find(record.media, timestamp=stamp if isinstance(stamp, int) else None, ordinal=ordinal)
        if path is None:
            summary.photos_missing += 1
            return None
        try:
            data = self.folder.read(path)
        except (MediaFolderError, OSError) as exc:
            summary.photos_missing += 1
            summary.errors.append(f"{_where(record)}：{exc}")
            return None
        summary.photos_attached += 1
        return data, path.name


def _where(record: HistoryRecord) -> str:
    if "line" in record.source:
        return f"第 {record.source['line']} 行"
    return f"第 {int(record.source.get('index', 0)) + 1} 条消息"


def import_history(
    factory: sessionmaker[Session],
    settings: Settings,
    path: Path,
    *,
    fmt: str | None = None,
    group_name: str | None = None,
    group_id: str | None = None,
    media_dir: Path | None = None,
    dry_run: bool = False,
    progress: Callable[[int], None] | None = None,
    on_total: Callable[[int], None] | None = None,
    classify_later: bool = False,
    since: datetime | None = None,
    until: datetime | None = None,
) -> ImportSummary:
    """Parse ``path`` and store every message once; returns counts for the summary.

    ``media_dir`` is the export's folder of pictures: each photo placeholder whose file is found there (by the
    export's own references) is stored as a real photo — hashed, re-post-checked and queued for OCR like live
    photos. ``dry_run`` does all of it in a transaction that is rolled back (photos go to a scratch folder), so
    the summary says what would be created and nothing is written. ``classify_later`` leaves classification to
    background jobs, so a big export goes in at storage speed.
    ``since``/``until`` (inclusive) keep only a capture gap's window of a larger export.
    """
    fmt = fmt or detect_format(path)
    if fmt not in PARSERS:
        raise HistoryFormatError(f"未知格式 {fmt}，可选：" + "、".join(PARSERS))
    records = [r for r in PARSERS[fmt](path) if _within(r.sent_at, since, until, settings)]
    if not records:
        raise HistoryFormatError("文件里没有消息" + ("（在指定的时间范围内）" if since or until else ""))
    if on_total:
        on_total(len(records))
    if fmt == "pywxdump-csv" and not group_name:
        raise HistoryFormatError("PyWxDump 导出文件里没有群名称，请用 --group 指定（与机器人看到的群名一致）")
    try:
        photos = _Photos(MediaFolder.open(media_dir, settings.max_image_bytes) if media_dir else None)
    except MediaFolderError as exc:
        raise HistoryFormatError(str(exc)) from None
    default_name = next((r.group_name for r in records if r.group_name), None) or path.stem.removesuffix("_utf8")
    names = {group_name or r.group_name or default_name for r in records}
    if group_id and len(names) > 1:
        raise HistoryFormatError("文件里有多个群（" + "、".join(sorted(names)) + "），--group-id 只能用于单个群的导出")
    summary = ImportSummary(format=fmt, group_name="、".join(sorted(names)), dry_run=dry_run)
    if dry_run:
        with tempfile.TemporaryDirectory(prefix="wenming-dry-run-") as scratch:
            _run(
                factory,
                settings.model_copy(update={"media_dir": Path(scratch)}),
                records,
                summary,
                photos,
                group_name,
                group_id,
                default_name,
                progress,
                hook=None,
                dry_run=True,
            )
        return summary
    hook = pipeline.DeferredClassification(settings) if classify_later else pipeline.report_hook(settings)
    _run(factory, settings, records, summary, photos, group_name, group_id, default_name, progress, hook, False)
    return summary


def _within(sent_at: datetime | None, since: datetime | None, until: datetime | None, settings: Settings) -> bool:
    """Inside the window; a line without a readable time is always kept (it is stored rejected, never lost)."""
    if sent_at is None:
        return True
    moment = sent_at if sent_at.tzinfo else sent_at.replace(tzinfo=settings.tz)
    return (since is None or moment >= since) and (until is None or moment <= until)


def _run(
    factory: sessionmaker[Session],
    settings: Settings,
    records: list[HistoryRecord],
    summary: ImportSummary,
    photos: _Photos,
    group_name: str | None,
    group_id: str | None,
    default_name: str,
    progress: Callable[[int], None] | None,
    hook: pipeline.ReportHook | pipeline.DeferredClassification | None,
    dry_run: bool,
) -> None:
    """Store in committed batches and assemble; a dry run does it all in one transaction and rolls it back."""
    from ingest import service as ingest_service

    matched = _Matched()
    with _sessions(factory, dry_run) as session_for:
        for batch_start in range(0, len(records), BATCH):
            with session_for() as session:
                groups: dict[str, tuple[str, int | None]] = {}
                for record in records[batch_start : batch_start + BATCH]:
                    name = group_name or record.group_name or default_name
                    if record.error is not None:
                        _reject(session, summary, record)
                    else:
                        if name not in groups:
                            groups[name] = _resolve_group(session, record.platform, name, group_id or record.group_id)
                        key, group_pk = groups[name]
                        message = _incoming(record, key, name, settings, photos.find(record, summary))
                        _import_one(session, settings, summary, message, group_pk, matched)
                    if progress:
                        progress(1)
        with session_for() as session:
            ingest_service.assemble_pending(session, settings, on_report=hook)
            pipeline.finish(hook, session)
            _outcome(session, summary)


@contextmanager
def _sessions(factory: sessionmaker[Session], dry_run: bool) -> Iterator[Callable[[], AbstractContextManager[Session]]]:
    """Committed transactions one by one; for a dry run one session whose work is rolled back at the end."""
    if not dry_run:
        yield lambda: transaction(factory)
        return
    session = factory()
    try:
        yield lambda: nullcontext(session)
    finally:
        session.rollback()
        session.close()


def _reject(session: Session, summary: ImportSummary, record: HistoryRecord) -> None:
    """A line the parser could not place: kept whole as a rejected message, named in the summary."""
    from ingest import service as ingest_service

    assert record.error is not None
    summary.total += 1
    summary.rejected += 1
    summary.errors.append(record.error)
    ingest_service.record_rejected(
        session, payload={"history": record.source}, error=record.error, platform=record.platform.value
    )


def _outcome(session: Session, summary: ImportSummary) -> None:
    """What became of this import's messages: reports by unit, messages kept, senders no unit was found for."""
    reports: dict[int, tuple[int | None, str | None]] = {}
    for start in range(0, len(summary.stored_ids), 1000):
        chunk = summary.stored_ids[start : start + 1000]
        rows = session.execute(
            select(RawMessage.status, RawMessage.report_id, Report.unit_id, RawMessage.sender_name)
            .outerjoin(Report, Report.id == RawMessage.report_id)
            .where(RawMessage.id.in_(chunk))
        )
        for status, report_id, unit_id, sender_name in rows:
            summary.messages[status] += 1
            if report_id is not None and status == RawStatus.ASSEMBLED.value:
                reports.setdefault(report_id, (unit_id, sender_name))
    unit_names = dict(session.execute(select(Unit.id, Unit.name)).all())
    by_unit = Counter(unit_names.get(unit_id) if unit_id else None for unit_id, _ in reports.values())
    summary.reports_by_unit = sorted(by_unit.items(), key=lambda item: (item[0] is None, -item[1], item[0] or ""))
    senders = Counter(name or "（无名）" for unit_id, name in reports.values() if unit_id is None)
    summary.unresolved_senders = senders.most_common()


def _import_one(
    session: Session,
    settings: Settings,
    summary: ImportSummary,
    message: IncomingMessage,
    group_pk: int | None,
    matched: _Matched,
) -> None:
    from ingest import service as ingest_service

    summary.total += 1
    summary.first = min(summary.first or message.sent_at, message.sent_at)
    summary.last = max(summary.last or message.sent_at, message.sent_at)
    seen = _already_there(session, group_pk, message, matched)
    if seen is not None:
        if (seen.payload or {}).get("history"):
            summary.already_imported += 1
        else:
            summary.captured_live += 1
        return
    if message.recalls_message_id in matched.stored_as:  # the recalled message was captured live, under its id
        message = message.model_copy(update={"recalls_message_id": matched.stored_as[message.recalls_message_id]})
    outcome = ingest_service.receive(session, settings, message)
    matched.used.add(outcome.raw_message_id)
    if outcome.duplicate:
        summary.already_imported += 1
    elif outcome.error:
        summary.rejected += 1
        summary.errors.append(outcome.error)
    else:
        summary.stored += 1
        summary.stored_ids.append(outcome.raw_message_id)
        summary.kinds[message.kind.value] += 1


def iter_formats() -> Iterable[tuple[str, str]]:
    return FORMAT_NAMES.items()
