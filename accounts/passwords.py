"""Password policy: at least ten characters, not a common password, not a trivial pattern."""

from __future__ import annotations

import re

MIN_LENGTH = 10

# The passwords people reach for first (the well-known leaked-list heads, pinyin favourites, this system's own
# words). A candidate is refused when, lower-cased and without its trailing digits and symbols, it is one of
# these: "Password1!" and "wenming2026" fall with "password" and "wenming".
_COMMON_WORDS = """
    password passw0rd passwd admin administrator root user guest login welcome letmein monkey dragon master
    qwerty qwertyuiop asdfgh asdfghjkl zxcvbnm qazwsx iloveyou sunshine princess football baseball superman
    shadow michael trustno abc abcd abcdef abcdefg abcdefgh test tester testing changeme default secret
    woaini aini wodemima mima nihao zhongguo china beijing shanghai yingyong kaixin xingfu wenming wenmingban
    wenmingdanwei danwei zhiyuan zhiyuanzhe xuanchuan shenhe guanli guanliyuan staff reviewer viewer demo
"""
COMMON = frozenset(_COMMON_WORDS.split())

_KEYBOARD_ROWS = ("1234567890", "qwertyuiop", "asdfghjkl", "zxcvbnm", "abcdefghijklmnopqrstuvwxyz")


def _core(password: str) -> str:
    """The word under the decoration: lower case, trailing digits and symbols dropped."""
    return re.sub(r"[\d\W_]+$", "", password.lower())


def _is_run(text: str) -> bool:
    """A stretch of a keyboard row or the alphabet, forwards or backwards (``1234567890``, ``qwertyuiop``)."""
    return any(text in row or text in row[::-1] for row in _KEYBOARD_ROWS)


def _repeats(text: str) -> bool:
    """One short unit over and over: ``aaaaaaaaaa``, ``abcabcabcabc``, ``12121212121``."""
    return any(len(text) % size == 0 and text == text[:size] * (len(text) // size) for size in range(1, 5))


def problem(password: str, username: str | None = None) -> str | None:
    """The Chinese reason a new password is refused, or None when it is acceptable."""
    if len(password) < MIN_LENGTH:
        return f"密码至少需要 {MIN_LENGTH} 位"
    lowered = password.lower()
    core = _core(password)
    if core in COMMON or lowered in COMMON or (len(core) >= 4 and _is_run(core)):
        return "密码太常见（如 password1、qwerty123），请换一个不容易被猜到的密码"
    if _is_run(lowered) or _repeats(lowered) or len(set(lowered)) <= 3:
        return "密码过于简单（连续或重复的字符），请换一个"
    if password.isdigit() or password.isalpha():
        return "密码不能只由数字或只由字母组成"
    if username and len(username) >= 3 and username.lower() in lowered:
        return "密码不能包含用户名"
    return None
