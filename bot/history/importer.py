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
from ingest.schemas import IncomingMessage, IngestOutcome, MediaContent
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
            batch = records[batch_start : batch_start + BATCH]
            with session_for() as session:
                entries = _entries(session, settings, summary, batch, photos, group_name, group_id, default_name)
                _import_batch(session, settings, summary, entries, matched)
            if progress:
                progress(len(batch))
        # bounded transactions: a big export must not hold the write lock while all of it is assembled
        for _ in pipeline.assemble_in_batches(session_for, settings, hook, ingest_service.BULK_ASSEMBLY):
            pass
        with session_for() as session:
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


@dataclass
class _Entry:
    """One record of a batch on its way in: its message (None for a line the parser could not place)."""

    record: HistoryRecord
    message: IncomingMessage | None = None
    group_pk: int | None = None
    photo_errors: list[str] = field(default_factory=list)  # reported where the record's own outcome is
    item: int | None = None  # its index in the batch stored with ``receive_many``; None: already there
    seen_live: bool = False  # already there: captured live (else imported before)


def _entries(
    session: Session,
    settings: Settings,
    summary: ImportSummary,
    batch: list[HistoryRecord],
    photos: _Photos,
    group_name: str | None,
    group_id: str | None,
    default_name: str,
) -> list[_Entry]:
    """The batch's records as messages (photos found in --media attached), groups resolved once per batch."""
    groups: dict[str, tuple[str, int | None]] = {}
    entries = []
    for record in batch:
        entry = _Entry(record)
        if record.error is None:
            name = group_name or record.group_name or default_name
            if name not in groups:
                groups[name] = _resolve_group(session, record.platform, name, group_id or record.group_id)
            key, entry.group_pk = groups[name]
            before = len(summary.errors)
            entry.message = _incoming(record, key, name, settings, photos.find(record, summary))
            entry.photo_errors, summary.errors[before:] = summary.errors[before:], []
        entries.append(entry)
    return entries


def _import_batch(
    session: Session, settings: Settings, summary: ImportSummary, entries: list[_Entry], matched: _Matched
) -> None:
    """Skip what is there already, store the rest with one ``receive_many`` and count what became of each record.

    Matching goes record by record as before: a stored message that a record duplicates (same platform id) is
    taken out of matching at that record, as when each record was stored before the next one was matched.
    """
    from ingest import service as ingest_service

    stored = _stored_before(session, entries)
    items: list[ingest_service.Receivable] = []
    for entry in entries:
        record, message = entry.record, entry.message
        if message is None:
            assert record.error is not None
            entry.item = len(items)
            payload = {"history": record.source}
            items.append(ingest_service.Rejected(payload=payload, error=record.error, platform=record.platform.value))
            continue
        seen = _already_there(session, entry.group_pk, message, matched)
        if seen is not None:
            entry.seen_live = not (seen.payload or {}).get("history")
            continue
        rewritten = message.recalls_message_id in matched.stored_as
        if rewritten:  # the recalled message was captured live, under its id
            message = message.model_copy(update={"recalls_message_id": matched.stored_as[message.recalls_message_id]})
            entry.message = message
        lookup = _stored_before(session, [entry]) if rewritten else stored  # a rewritten recall has another key
        if (duplicate_of := lookup.get((entry.group_pk, ingest_service.message_key(message)))) is not None:
            matched.used.add(duplicate_of)  # as its own store would, before the next record is matched
        entry.item = len(items)
        items.append(message)
    outcomes = ingest_service.receive_many(session, settings, items)
    for entry in entries:
        _count(summary, entry, outcomes[entry.item] if entry.item is not None else None, matched)


def _stored_before(session: Session, entries: list[_Entry]) -> dict[tuple[int | None, str], int]:
    """The raw message ids the entries' messages are stored under already, by (group, platform message id)."""
    from ingest import service as ingest_service

    found: dict[tuple[int | None, str], int] = {}
    by_group: dict[int, list[IncomingMessage]] = {}
    for entry in entries:
        if entry.message is not None and entry.group_pk is not None:
            by_group.setdefault(entry.group_pk, []).append(entry.message)
    for group_pk, messages in by_group.items():
        found |= {
            (group_pk, key): raw_id
            for key, raw_id in ingest_service.stored_raw_ids(session, group_pk, messages).items()
        }
    return found


def _count(summary: ImportSummary, entry: _Entry, outcome: IngestOutcome | None, matched: _Matched) -> None:
    """Add one record to the summary, in the records' order (errors listed where they happened)."""
    record, message = entry.record, entry.message
    summary.errors.extend(entry.photo_errors)
    if message is None:
        summary.total += 1
        summary.rejected += 1
        summary.errors.append(record.error or "")
        return
    summary.total += 1
    summary.first = min(summary.first or message.sent_at, message.sent_at)
    summary.last = max(summary.last or message.sent_at, message.sent_at)
    if outcome is None:  # captured live or imported before
        if entry.seen_live:
            summary.captured_live += 1
        else:
            summary.already_imported += 1
        return
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
