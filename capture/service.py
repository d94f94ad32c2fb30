"""Every write capture makes: agent credentials, signed batches through ingest, capture health and alerts."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import delete
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm import Session

from capture import gaps, keys, repository
from capture.models import AdapterState, AgentRequest, AlertKind, CaptureAgent, CaptureAlert, GroupWatch
from capture.schemas import Ack, AdapterHealth, AdapterStatus, BatchResult, GroupHealth, HealthReport
from ingest.models import ChatGroup
from ingest.schemas import IngestOutcome
from wenming import audit
from wenming.audit import AuditKind
from wenming.db import utcnow
from wenming.errors import Conflict, DomainError, NotFound
from wenming.settings import Settings

AGENT_NAME_RE = re.compile(r"^[A-Za-z0-9_.\-]{2,64}$")  # it travels in an HTTP header: ASCII only
SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
RAW_CURSOR = "health_raw_messages"
LEARN_EVERY = timedelta(hours=24)


class CaptureError(DomainError):
    """A request or staff action capture cannot carry out; the message is Chinese."""


class AgentAuthError(CaptureError):
    """The request is not from a valid, current agent (401)."""


class AgentExists(CaptureError, Conflict):
    """An agent of that name exists (revoked ones too: names are never reused)."""


class UnknownName(CaptureError, NotFound):
    """No agent or group of that name."""


# -- agents --


def add_agent(session: Session, settings: Settings, name: str, *, actor: str) -> tuple[CaptureAgent, str]:
    """Create an agent and return its secret, which is shown once and never stored."""
    if not AGENT_NAME_RE.match(name):
        raise CaptureError(
            "采集代理名称只能包含字母、数字、下划线、点和短横线（它会放在 HTTP 头里），长度 2–64，如 office-pc1"
        )
    if repository.agent_by_name(session, name) is not None:
        raise AgentExists(f"采集代理「{name}」已存在（如需换新密钥，先 agents revoke 再用新名称创建）")
    agent = CaptureAgent(name=name, key_salt=keys.new_salt(), secret_hash="", created_by=actor, messages_stored=0)
    session.add(agent)
    session.flush()
    secret = keys.derive_secret(keys.server_key(settings), agent.id, agent.key_salt)
    agent.secret_hash = keys.digest(secret)
    audit.record(session, actor, AuditKind.CAPTURE_AGENT, subject=("capture_agent", agent.id), after={"name": name})
    return agent, secret


def revoke_agent(session: Session, name: str, *, actor: str, reason: str | None = None) -> CaptureAgent:
    """From now on every request of this agent is refused."""
    agent = repository.agent_by_name(session, name)
    if agent is None:
        raise UnknownName(f"没有名为「{name}」的采集代理")
    if agent.revoked_at is not None:
        raise CaptureError(f"采集代理「{name}」已吊销")
    agent.revoked_at, agent.revoked_by = utcnow(), actor
    audit.record(
        session,
        actor,
        AuditKind.CAPTURE_AGENT,
        subject=("capture_agent", agent.id),
        before={"name": name, "revoked": False},
        after={"name": name, "revoked": True},
        reason=reason,
    )
    return agent


def authenticate(
    session: Session,
    settings: Settings,
    *,
    name: str | None,
    timestamp: str | None,
    signature: str | None,
    body: bytes,
    now: datetime | None = None,
) -> CaptureAgent:
    """Check a signed request; records its signature so the same request is never accepted twice."""
    now = now or utcnow()
    if not name or not timestamp or not signature:
        raise AgentAuthError("缺少签名：请求需带 X-Wenming-Agent、X-Wenming-Timestamp 和 X-Wenming-Signature 头")
    if not timestamp.isdigit() or len(timestamp) > 12:
        raise AgentAuthError("X-Wenming-Timestamp 应为 Unix 时间（秒）")
    agent = repository.agent_by_name(session, name)
    if agent is None:
        raise AgentAuthError(f"未知的采集代理「{name[:64]}」")
    if agent.revoked_at is not None:
        raise AgentAuthError(f"采集代理「{agent.name}」已被吊销，不能再上传")
    secret = keys.derive_secret(keys.server_key(settings), agent.id, agent.key_salt)
    if not keys.same(keys.digest(secret), agent.secret_hash):
        raise AgentAuthError("服务器密钥已更换，该采集代理的密钥已失效：请吊销后重新创建采集代理")
    sent = signature.removeprefix(keys.SIGNATURE_PREFIX).strip().lower()
    expected = keys.sign(secret, timestamp, body)
    if not signature.startswith(keys.SIGNATURE_PREFIX) or not keys.same(sent, expected):
        raise AgentAuthError("签名不符：请检查密钥，并对「时间戳 + 换行 + 请求体原文」计算 HMAC-SHA256")
    skew = abs(now.timestamp() - int(timestamp))
    if skew > settings.capture_signature_skew_seconds:
        minutes = settings.capture_signature_skew_seconds // 60
        raise AgentAuthError(f"时间戳与服务器时间相差 {int(skew)} 秒，超过 {minutes} 分钟：请校准电脑时间后重新签名")
    _remember_signature(session, settings, agent, expected, now)
    agent.last_seen_at = now
    return agent


def _remember_signature(
    session: Session, settings: Settings, agent: CaptureAgent, signature: str, now: datetime
) -> None:
    window = timedelta(seconds=2 * settings.capture_signature_skew_seconds)
    session.execute(delete(AgentRequest).where(AgentRequest.seen_at < now - window))
    try:
        with session.begin_nested():
            session.add(AgentRequest(agent_id=agent.id, signature=signature, seen_at=now))
    except IntegrityError:
        raise AgentAuthError("该请求已经处理过（签名重复使用）：重发时请用新的时间戳重新签名") from None


# -- batches --


def receive_batch(
    session: Session,
    settings: Settings,
    *,
    name: str | None,
    timestamp: str | None,
    signature: str | None,
    body: bytes,
) -> BatchResult:
    """The capture door: a signed request from an agent, its batch stored message by message."""
    agent = authenticate(session, settings, name=name, timestamp=timestamp, signature=signature, body=body)
    try:
        batch = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise CaptureError("请求体不是有效的 JSON（UTF-8）") from None
    return push_batch(session, settings, agent, batch)


def push_batch(session: Session, settings: Settings, agent: CaptureAgent, batch: Any) -> BatchResult:
    """Store a batch through ingest in one set-based call (raw first, idempotent), each message with its own answer."""
    messages, photos = _unpack(batch, settings)
    result = BatchResult(agent=agent.name, acks=[])
    prepared = [_prepare(session, settings, agent, item, photos) for item in messages]
    ready = [(index, item) for index, item in enumerate(prepared) if not isinstance(item, Ack)]
    received = _receive_all(session, settings, [message for _, message in ready], agent)
    outcomes = dict(zip((index for index, _ in ready), received, strict=True))
    for index, item in enumerate(messages):
        message_id = item.get("message_id") if isinstance(item, dict) else None
        message_id = message_id if isinstance(message_id, str) else None
        if isinstance(prepared[index], Ack):
            result.acks.append(prepared[index].model_copy(update={"index": index, "message_id": message_id}))
            result.rejected += 1
            continue
        outcome = outcomes[index]
        if outcome.duplicate:
            status, result.duplicates = "duplicate", result.duplicates + 1
        elif outcome.status == "rejected":
            status, result.rejected = "rejected", result.rejected + 1
        else:
            status, result.stored = "stored", result.stored + 1
        reason = outcome.error if status == "rejected" else None
        result.acks.append(
            Ack(index=index, message_id=message_id, status=status, raw_message_id=outcome.raw_message_id, reason=reason)
        )
    agent.last_batch_at = utcnow()
    agent.messages_stored += result.stored
    session.flush()
    return result


def _receive_all(
    session: Session, settings: Settings, messages: list[dict[str, Any]], agent: CaptureAgent
) -> list[IngestOutcome]:
    """The batch through ingest in one set-based call; should the database refuse it, message by message."""
    from ingest import service as ingest_service

    try:
        with session.begin_nested():
            return ingest_service.receive_many(session, settings, messages)
    except DataError:  # one message the database cannot hold: find it, keep the rest
        return [_receive_one(session, settings, message, agent) for message in messages]


def _receive_one(session: Session, settings: Settings, message: dict[str, Any], agent: CaptureAgent) -> IngestOutcome:
    """One message through ingest; what the database cannot hold (a NUL byte…) is kept rejected, not a failed batch."""
    from ingest import service as ingest_service

    try:
        with session.begin_nested():
            return ingest_service.receive(session, settings, message)
    except DataError:
        preview = repr({k: v for k, v in message.items() if k != "media"})[:60_000]
        return ingest_service.record_rejected(
            session,
            payload={"item": preview, "wenming_agent": agent.name},
            error="消息含有数据库无法保存的内容（如空字符），已保留原文供查看",
            platform=str(message.get("platform", "unknown"))[:40],
        )


def _unpack(batch: Any, settings: Settings) -> tuple[list[Any], dict[str, Any]]:
    if not isinstance(batch, dict) or not isinstance(batch.get("messages"), list):
        raise CaptureError('请求体应为 JSON 对象：{"messages": [...], "photos": {"<sha256>": "<base64>"}}')
    messages, photos = batch["messages"], batch.get("photos") or {}
    if not messages:
        raise CaptureError("messages 不能为空")
    if len(messages) > settings.capture_max_batch_messages:
        raise CaptureError(f"一批最多 {settings.capture_max_batch_messages} 条消息，收到 {len(messages)} 条")
    if not isinstance(photos, dict):
        raise CaptureError('photos 应为对象：{"<sha256>": "<base64>"}')
    return messages, photos


def _prepare(
    session: Session, settings: Settings, agent: CaptureAgent, item: Any, photos: Mapping[str, Any]
) -> dict[str, Any] | Ack:
    """The message as ingest takes it (photo bytes attached), or an Ack saying why it cannot go in yet."""
    if not isinstance(item, dict):
        return dict(_raw_reject(item))
    message = {k: v for k, v in item.items() if k not in ("image", "image_sha256", "image_name")}
    payload = message.get("payload")
    message["payload"] = (dict(payload) if isinstance(payload, dict) else {}) | {"wenming_agent": agent.name}
    sha = item.get("image_sha256")
    if sha is None:
        return message
    if not isinstance(sha, str) or not SHA256_RE.match(sha):
        return Ack(index=0, status="rejected", reason="image_sha256 应为 64 位小写十六进制的 SHA-256", retry=True)
    data = _photo_bytes(session, settings, sha, photos.get(sha))
    if isinstance(data, Ack):
        return data
    name = item.get("image_name")
    message["media"] = {"data": data, "original_name": name[:500] if isinstance(name, str) else None}
    return message


def _raw_reject(item: Any) -> dict[str, Any]:
    return {"platform": "unknown", "payload": {"item": item}}


def _photo_bytes(session: Session, settings: Settings, sha: str, encoded: Any) -> bytes | Ack:
    """Bytes sent in this batch (checked against their hash), else an image uploaded before with that hash."""
    if encoded is not None:
        try:
            data = base64.b64decode(encoded, validate=True) if isinstance(encoded, str) else b""
        except (binascii.Error, ValueError):
            data = b""
        if not data or hashlib.sha256(data).hexdigest() != sha:
            return Ack(
                index=0,
                status="rejected",
                reason=f"图片 {sha[:12]}… 的内容与其 SHA-256 不符或不是有效的 base64",
                retry=True,
            )
        return data
    stored = repository.media_by_sha(session, sha)
    path = Path(settings.media_dir) / stored if stored else None
    if path is None or not path.is_file():
        return Ack(
            index=0,
            status="rejected",
            reason=f"图片 {sha[:12]}… 既不在本批 photos 中，也未曾上传：请连同图片重发",
            retry=True,
        )
    return path.read_bytes()


# -- group watch settings --


def set_group_watch(
    session: Session, platform: str, key: str, *, minutes: int | None, watched: bool, actor: str
) -> GroupWatch:
    """The office's own expectation for a group: alert after ``minutes`` of silence, or never (``watched=False``)."""
    group = repository.group_by_key(session, platform, key)
    if group is None:
        raise UnknownName(f"没有找到 {platform} 群「{key}」（需先采集到该群的消息）")
    if minutes is not None and not 10 <= minutes <= 60 * 24 * 60:
        raise CaptureError("间隔应在 10 分钟到 60 天之间")
    watch = session.get(GroupWatch, group.id) or GroupWatch(group_id=group.id, watched=True)
    before = {"expected_gap_minutes": watch.expected_gap_minutes, "watched": watch.watched}
    watch.expected_gap_minutes, watch.watched = minutes, watched
    session.add(watch)
    audit.record(
        session,
        actor,
        AuditKind.CAPTURE_WATCH,
        subject=("group", group.id),
        before=before,
        after={"expected_gap_minutes": minutes, "watched": watched},
    )
    return watch


# -- health --


def save_adapter_states(session: Session, statuses: Sequence[AdapterStatus], now: datetime | None = None) -> None:
    """Upsert one row per adapter (`wenming run` every few seconds); remembers when ``connected`` flipped."""
    now = now or utcnow()
    for status in statuses:
        row = session.get(AdapterState, status.name) or AdapterState(name=status.name)
        if row.changed_at is None or row.connected != status.connected:
            row.changed_at = now
        row.platform, row.connected, row.detail = status.platform, status.connected, status.detail
        row.accounts = "、".join(status.accounts)[:500]
        row.last_event_at, row.updated_at = status.last_event_at, now
        row.problem, row.send_failures = status.problem[:20], status.send_failures
        row.last_send_error = status.last_send_error[:2000]
        session.add(row)
    session.flush()


@dataclass
class _Run:
    """One health check: where it writes, what time it is, and which alerts it opened and closed."""

    session: Session
    settings: Settings
    now: datetime
    opened: list[CaptureAlert] = field(default_factory=list)
    closed: list[CaptureAlert] = field(default_factory=list)

    def open(self, alert: CaptureAlert) -> None:
        self.session.add(alert)
        self.opened.append(alert)

    def close(self, alert: CaptureAlert, end: datetime, backfill: str) -> None:
        alert.closed_at, alert.gap_end, alert.backfill = self.now, max(end, alert.gap_start), backfill
        alert.notify_error = None  # the resolution is worth telling even if the opening could not be told
        self.closed.append(alert)


def check_health(
    session: Session, settings: Settings, adapters: Sequence[AdapterHealth], now: datetime | None = None
) -> HealthReport:
    """Advance last-message times, relearn usual gaps daily, open and close alerts. Returns what changed."""
    run = _Run(session, settings, now or utcnow())
    _advance(session, settings, run.now)
    watched = repository.watches(session)
    for watch, group in watched:
        _relearn(session, settings, watch, group, run.now)
        _check_group(run, watch, group)
    for adapter in adapters:
        if not adapter.stale:
            _check_link(run, adapter, [g for _, g in watched])
            _check_frozen(run, adapter)
    session.flush()
    return HealthReport(repository.views(session, run.opened), repository.views(session, run.closed))


def _advance(session: Session, settings: Settings, now: datetime) -> None:
    """Fold messages stored since the last run into each group's last *live* message time."""
    cursor = repository.cursor(session, RAW_CURSOR)
    seen: set[int] = set()
    latest: dict[int, datetime] = {}
    for raw in repository.raws_after(session, cursor.position):
        cursor.position = raw.id
        seen.add(raw.group_id)
        future = raw.sent_at is not None and raw.sent_at > now + timedelta(minutes=5)  # a clock error
        if not future and gaps.is_live(raw.sent_at, raw.received_at, settings):
            assert raw.sent_at is not None
            latest[raw.group_id] = max(latest.get(raw.group_id, raw.sent_at), raw.sent_at)
    for group_id in seen:
        watch = session.get(GroupWatch, group_id) or GroupWatch(group_id=group_id, watched=True)
        when = latest.get(group_id)
        if when is not None and (watch.last_message_at is None or when > watch.last_message_at):
            watch.last_message_at = when
        session.add(watch)
    session.flush()


def _relearn(session: Session, settings: Settings, watch: GroupWatch, group: ChatGroup, now: datetime) -> None:
    if watch.learned_at is not None and now - watch.learned_at < LEARN_EVERY:
        return
    since = now - timedelta(days=settings.capture_gap_learning_days)
    times = [s for s, r in repository.group_times(session, group.id, since) if gaps.is_live(s, r, settings)]
    watch.usual_gap_seconds = gaps.usual_gap(
        times, settings, repository.outages(session, group.id, group.platform, since)
    )
    watch.learned_at = now


def _check_group(run: _Run, watch: GroupWatch, group: ChatGroup) -> None:
    """A group silent for longer than usual opens an alert; its next live message closes it with the window."""
    subject = f"group:{group.id}"
    alert = repository.open_alert(run.session, subject)
    if alert is not None and watch.last_message_at is not None and watch.last_message_at > alert.gap_start:
        end = repository.first_message_after(run.session, group.id, alert.gap_start) or watch.last_message_at
        run.close(alert, end, "\n".join(_group_commands(group, alert.gap_start, end, run.settings)))
        return
    limit = gaps.threshold(watch.usual_gap_seconds, watch.expected_gap_minutes, run.settings)
    if alert is not None or not watch.watched or limit is None or watch.last_message_at is None:
        return
    silence = (run.now - watch.last_message_at).total_seconds()
    if silence <= limit:
        return
    basis = "按本群设置" if watch.expected_gap_minutes is not None else "平时最长间隔约"
    usual = gaps.describe_duration(
        watch.expected_gap_minutes * 60 if watch.expected_gap_minutes else watch.usual_gap_seconds or 0
    )
    detail = (
        f"「{group.name or group.platform_id}」已 {gaps.describe_duration(silence)} 没有采集到新消息"
        f"（{basis} {usual}）：请确认机器人是否仍在群内、账号是否掉线"
    )
    run.open(
        CaptureAlert(
            kind=AlertKind.SILENT.value,
            subject=subject,
            platform=group.platform,
            group_id=group.id,
            opened_at=run.now,
            gap_start=watch.last_message_at,
            detail=detail,
        )
    )


def _group_commands(group: ChatGroup, start: datetime, end: datetime, settings: Settings) -> list[str]:
    key = group.platform_id if group.platform == "qq" else (group.name or group.platform_id)
    return gaps.backfill_commands(group.platform, key, start, end, settings.tz)


def _adapter_alert(
    run: _Run, adapter: AdapterHealth, kind: AlertKind, subject: str, start: datetime, detail: str
) -> None:
    run.open(
        CaptureAlert(
            kind=kind.value,
            subject=subject,
            platform=adapter.platform,
            adapter=adapter.name,
            opened_at=run.now,
            gap_start=start,
            detail=detail,
        )
    )


def _check_link(run: _Run, adapter: AdapterHealth, groups: list[ChatGroup]) -> None:
    """Down beyond the grace time: reconnecting, or logged out (with the reason); back up: the window per group."""
    since = adapter.changed_at or run.now
    down = repository.open_alert(run.session, f"adapter:{adapter.name}")
    if adapter.connected and down is not None:
        mine = [g for g in groups if g.platform == adapter.platform]
        commands = [c for g in mine for c in _group_commands(g, down.gap_start, since, run.settings)]
        run.close(down, since, "\n".join(commands) or "（该平台尚无已采集的群）")
    elif not adapter.connected:
        kind = AlertKind.LOGGED_OUT if adapter.problem else AlertKind.DISCONNECTED
        detail = f"{repository.ADAPTER_ZH.get(adapter.name, adapter.name)}{kind.zh}：{adapter.detail or '无详情'}"
        if down is not None:
            down.kind, down.detail = kind.value, detail  # e.g. the retcode became known
        elif (run.now - since).total_seconds() > run.settings.capture_adapter_grace_seconds:
            _adapter_alert(run, adapter, kind, f"adapter:{adapter.name}", since, detail)


def _check_frozen(run: _Run, adapter: AdapterHealth) -> None:
    """Online, yet its sends keep failing: the account may be frozen (risk control)."""
    frozen = repository.open_alert(run.session, f"frozen:{adapter.name}")
    failing = adapter.connected and adapter.send_failures >= run.settings.capture_frozen_send_failures
    if frozen is not None and not failing and adapter.send_failures == 0:
        run.close(frozen, run.now, "冻结期间消息可能未采集：请按各群的缺口补采")
    elif frozen is None and failing:
        who = repository.ADAPTER_ZH.get(adapter.name, adapter.name)
        detail = (
            f"{who}显示在线，但连续 {adapter.send_failures} 次发送失败"
            f"（{adapter.last_send_error[:200]}）：账号可能被冻结或风控，请在手机上检查该账号"
        )
        _adapter_alert(run, adapter, AlertKind.FROZEN, f"frozen:{adapter.name}", run.now, detail)


def mark_notified(
    session: Session, alert_ids: Sequence[int], *, resolved: bool, error: str | None, now: datetime | None = None
) -> None:
    """Record that staff were told (or why they could not be)."""
    now = now or utcnow()
    for alert_id in alert_ids:
        alert = session.get(CaptureAlert, alert_id)
        if alert is None:
            continue
        if error is None:
            if resolved:
                alert.resolved_notified_at = now
            else:
                alert.notified_at = now
        alert.notify_error = error
    session.flush()


def group_health(session: Session, settings: Settings) -> list[GroupHealth]:
    """Every group capture has seen, with its last live message and alert threshold."""
    return [
        GroupHealth(
            group_id=group.id,
            platform=group.platform,
            name=group.name or group.platform_id,
            last_message_at=watch.last_message_at,
            threshold_seconds=gaps.threshold(watch.usual_gap_seconds, watch.expected_gap_minutes, settings),
            learned=watch.expected_gap_minutes is None,
            watched=watch.watched,
        )
        for watch, group in repository.watches(session)
    ]
