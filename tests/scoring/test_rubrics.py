"""Rubric files load; a malformed one is refused with an error naming the file, the key and the problem."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from scoring import service
from scoring.rubric import RUBRIC_DIR, ChangxingRubric, RubricError, XixiangRubric, parse_rubric_file


def test_both_shipped_rubrics_load_and_total_100() -> None:
    assert service.list_rubrics() == ["changxing-2020", "xixiang-2022"]
    changxing = service.load_rubric("changxing-2020")
    xixiang = service.load_rubric("xixiang-2022")
    assert isinstance(changxing, ChangxingRubric) and isinstance(xixiang, XixiangRubric)
    assert changxing.total_points == 100
    assert xixiang.total_points == 100
    assert changxing.items.adoption.per_article == {"county": 0.5, "city": 1, "province": 2, "central": 3}
    assert xixiang.bonus.leader_instruction == {"county": 0.5, "city": 1, "province": 1.5, "central": 2}


def _broken(tmp_path: Path, change: callable) -> Path:  # type: ignore[valid-type]
    data = yaml.safe_load((RUBRIC_DIR / "changxing-2020.yaml").read_text(encoding="utf-8"))
    change(data)
    path = tmp_path / "changxing-2020.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def test_wrong_type_names_file_key_and_problem(tmp_path: Path) -> None:
    path = _broken(tmp_path, lambda d: d["items"]["practice"].update(points="三十"))
    with pytest.raises(RubricError) as err:
        parse_rubric_file(path)
    message = str(err.value)
    assert "changxing-2020.yaml" in message
    assert "items.practice.points" in message
    assert "应为数字" in message and "三十" in message


def test_missing_key_is_named(tmp_path: Path) -> None:
    path = _broken(tmp_path, lambda d: d["items"]["cooperation"].pop("per_criticism"))
    with pytest.raises(RubricError, match=r"items\.cooperation\.per_criticism：缺少必填项"):
        parse_rubric_file(path)


def test_unknown_key_is_named(tmp_path: Path) -> None:
    path = _broken(tmp_path, lambda d: d["annual"].update(warn_below=60))
    with pytest.raises(RubricError, match=r"annual\.warn_below：不认识的键"):
        parse_rubric_file(path)


def test_out_of_range_and_bad_choice_are_explained(tmp_path: Path) -> None:
    path = _broken(tmp_path, lambda d: d["volunteer"].update(min_active_ratio=1.5))
    with pytest.raises(RubricError, match=r"volunteer\.min_active_ratio：应≤ 1"):
        parse_rubric_file(path)
    path = _broken(tmp_path, lambda d: d["counting"].update(date_basis="upload_date"))
    with pytest.raises(RubricError, match=r"counting\.date_basis：取值 'upload_date' 不在允许范围内"):
        parse_rubric_file(path)


def test_partial_credit_must_be_below_the_minimum(tmp_path: Path) -> None:
    path = _broken(tmp_path, lambda d: d["items"]["practice"].update(partial={2: 0.5}))
    with pytest.raises(RubricError, match=r"items\.practice：partial 的次数 2 必须大于 0 且小于 min_per_month"):
        parse_rubric_file(path)


def test_yaml_syntax_error_gives_the_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("kind: changxing\nname: [unclosed\n", encoding="utf-8")
    with pytest.raises(RubricError, match=r"bad\.yaml 第 \d+ 行 YAML 格式错误"):
        parse_rubric_file(path)


def test_unknown_rubric_name_lists_the_choices() -> None:
    with pytest.raises(RubricError, match="changxing-2020、xixiang-2022"):
        service.load_rubric("huzhou-2019")
