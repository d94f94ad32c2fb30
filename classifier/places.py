"""The pairing partner: the village, community or residents' committee named next to a pairing cue.

Chinese writes place names without spaces, so the hard part is where a name starts. A name is read backwards
from its suffix (村/社区/居委会): first the village part, then an optional town (镇/乡/街道) before it; each part
starts right after a word that cannot belong to a name (与, 赴, 走进, 结对, a county 县 …). Where several starts
are possible the longest wins unless it begins with such a word itself (与和平镇 → 和平镇, 虹星桥镇 stays whole).
"""

from __future__ import annotations

import re

PAIRING_CUES = ("结对", "共建", "联建", "帮扶", "结亲", "双报到", "共驻")
_SUFFIX = re.compile(r"社区居委会|居委会|社区|村")
# After 村 these characters continue a word (村民, 村委, 村干部, 村里) instead of ending a name.
_NOT_AFTER_VILLAGE = frozenset("民委干级里内口子庄落头道部务两")
_TOWN = re.compile(r"镇|乡|街道")
# Words that end just before a name starts: prepositions, verbs of going and helping, pairing words, and the
# administrative level above (县/市/区/州/旗) whose name is not part of the partner's.


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


_CUTS = tuple(
    sorted(
        _words(
            "与 和 同 跟 及 赴 到 至 往 去 向 给 为 在 的 对 了 是 把 帮 驻 进 入 县 市 区 州 旗 盟 "
            "走进 来到 走访 前往 深入 联合 携手 牵手 结对 共建 联建 帮扶 结亲 对接 慰问 看望 探望 "
            "服务 支援 助力 调研 参观 指导 联系 签约 下沉 入驻 进驻 报到 双报到 开展 组织 走入 回到 "
            "辖区 所在 其中 分别 以及 一起 一同 一道 党委 党支部 支部 单位 本单位 机关 局 院 委 办 所 校 行 司 "
            "村 社区 居委会 结对村 共建村 结对社区 共建社区 共建点 结对点 联系点 帮扶点 共建单位 结对单位 主动"
        ),
        key=len,
        reverse=True,
    )
)
# Conjunctions that also begin many names (和平, 同心): a leading one is part of the name after a firm cut.
_WEAK_CUTS = frozenset("和同跟及")
# Cuts that end a noun (我们单位和…): after them a leading 和 is a conjunction, not the start of a name.
_NOUN_CUTS = frozenset(_words("党委 党支部 支部 单位 本单位 机关 局 院 委 办 所 校 行 司 村 社区 居委会 辖区"))
_NOT_NAMES = {
    "农", "乡", "新农", "美丽乡", "行政", "本", "该", "全", "各", "村", "两", "示范", "城乡", "结对", "共建",
    "文明", "和美乡", "未来", "数字乡", "城中", "自然", "多", "各个", "周边", "结对帮扶", "共建帮扶", "联建",
}  # fmt: skip
# Inside a name these never occur (县/市/区 only as a name's last character: 皂市, 苏市).
_INNER_CUTS = tuple(c for c in _CUTS if len(c) > 1 and c not in _NOUN_CUTS) + tuple("与赴到的在对了是把")
_LEVELS = tuple("县市区旗")
_MULTI_CUTS = tuple(c for c in _CUTS if len(c) > 1)
_LONGEST_CUT = max(map(len, _MULTI_CUTS))
_CUT_SET = frozenset(_CUTS)
_INNER_RE = re.compile("|".join(map(re.escape, _INNER_CUTS)))
_LEVEL_RE = re.compile("[" + "".join(_LEVELS) + "]")
# Each multi-character cut split in two at every place: head → the tails that complete it (共建点: 共 → 建点 …).
_CUT_SPLITS: dict[str, list[str]] = {}
for _cut in _MULTI_CUTS:
    for _k in range(1, len(_cut)):
        _CUT_SPLITS.setdefault(_cut[:_k], []).append(_cut[_k:])
_NAME_MAX = 5
_TOWN_MAX = 5
_WINDOW = 18


def find_partner(text: str) -> str | None:
    """The place nearest to a pairing cue (``长兴县和平镇城南村`` → ``和平镇城南村``); None without one."""
    cues = [m.start() for cue in PAIRING_CUES for m in re.finditer(cue, text)]
    if not cues:
        return None
    best: tuple[int, str] | None = None
    for match in _SUFFIX.finditer(text):
        if not _ends_name(text, match):
            continue
        name = _name_before(text[max(0, match.start() - _WINDOW) : match.start()])
        if name is None:
            continue
        place = name + ("社区" if match.group(0) == "社区居委会" else match.group(0))
        distance = min(abs(match.start() - cue) for cue in cues)
        if best is None or distance < best[0]:
            best = (distance, place)
    return best[1] if best else None


def _ends_name(text: str, match: re.Match[str]) -> bool:
    """村 followed by 民/委/里 … is a word (村民, 村委), unless it is a name's 村 before 村委 (城南村村委)."""
    if match.group(0) != "村":
        return True
    after = text[match.end() : match.end() + 2]
    if not after:
        return True
    if after[0] == "村":
        return len(after) > 1 and after[1] in _NOT_AFTER_VILLAGE
    return after[0] not in _NOT_AFTER_VILLAGE


def _name_before(window: str) -> str | None:
    """The place name at the end of ``window`` (the text just before its suffix), or None if there is none."""
    window = _last_run(window)
    town_end, head = _town_split(window)
    if town_end:
        town = _start(head, 2, _TOWN_MAX)
        if town:
            return town + window[len(head) :]
    name = _start(window, 1 if len(window) <= 1 else 2, _NAME_MAX)
    if not name or name in _NOT_NAMES or name.endswith(("镇", "乡", "街道")):
        return None
    return name


def _last_run(window: str) -> str:
    """Only the last run of Chinese characters: a bracket, comma or digit ends the name's left side."""
    match = re.search(r"[\u4e00-\u9fff]*$", window)
    return match.group(0) if match else ""


def _town_split(window: str) -> tuple[int, str]:
    """Where the town part ends (after its 镇/乡/街道) and the text before that word; (0, "") without a town."""
    for match in reversed(list(_TOWN.finditer(window))):
        rest = window[match.end() :]
        if rest and len(rest) <= _NAME_MAX and not _TOWN.search(rest) and not _cut_at_start(rest):
            return match.end(), window[: match.start()]
    return 0, ""


def _start(part: str, shortest: int, longest: int) -> str | None:
    """The longest tail of ``part`` (shortest…longest chars) that starts right after a cut word or at the start.

    A tail that itself begins with a cut word gives way to the shorter tail after that word (与和平 → 和平),
    as long as what remains is still long enough (和平 stays 和平, not 平).
    """
    for length in range(min(longest, len(part)), shortest - 1, -1):
        tail, before = part[-length:], part[:-length]
        if before and not before.endswith(_CUTS):
            continue
        if _inner_cut(tail) or _splits_cut(before, tail):
            continue
        cut = _cut_at_start(tail)
        firm_before = bool(before) and _cut_at_end(before) not in _WEAK_CUTS | _NOUN_CUTS
        if cut and length - len(cut) >= shortest and not (cut in _WEAK_CUTS and firm_before):
            continue
        return tail
    tail = part[-shortest:] if len(part) >= shortest else ""
    return tail if tail and not _cut_at_start(tail) else None


def _inner_cut(tail: str) -> bool:
    """A preposition or verb inside the tail (我局与新华) means the name starts later."""
    return _INNER_RE.search(tail, 1) is not None or _LEVEL_RE.search(tail, 1, len(tail) - 1) is not None


def _splits_cut(before: str, tail: str) -> bool:
    """The boundary falls inside a word (共建|点水口): not a real start."""
    for k in range(1, min(len(before), _LONGEST_CUT) + 1):
        for rest in _CUT_SPLITS.get(before[-k:], ()):
            if tail.startswith(rest):
                return True
    return False


def _cut_at_end(before: str) -> str:
    for k in range(min(len(before), _LONGEST_CUT), 0, -1):
        if before[-k:] in _CUT_SET:
            return before[-k:]
    return ""


def _cut_at_start(tail: str) -> str:
    for k in range(min(len(tail), _LONGEST_CUT), 0, -1):
        if tail[:k] in _CUT_SET:
            return tail[:k]
    return ""
