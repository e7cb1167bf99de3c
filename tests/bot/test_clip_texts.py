"""The answers about clips and subtitles, in both languages."""

from __future__ import annotations

import pytest

from mediabot.bot import clip_texts
from mediabot.domain.clips import Clip, ClipProblem, ClipRangeError
from mediabot.i18n import use_locale


@pytest.mark.parametrize(
    ("refusal", "english", "russian"),
    [
        (ClipRangeError(ClipProblem.REVERSED, "2:05-1:20"), "ends before it starts", "раньше"),
        (ClipRangeError(ClipProblem.EMPTY, "1:20-1:20"), "is empty", "пуст"),
        (ClipRangeError(ClipProblem.MALFORMED, "1.20-2.05"), "can't read the times", "прочитать"),
        (ClipRangeError(ClipProblem.PAST_END, "11:00–", 600.0), "after the end", "после конца"),
        (ClipRangeError(ClipProblem.PLAYLIST, "1:00–1:20"), "from a playlist", "из плейлиста"),
    ],
)
def test_each_refusal_has_its_own_plain_answer_in_both_languages(
    refusal: ClipRangeError, english: str, russian: str
) -> None:
    with use_locale("en"):
        answer = clip_texts.clip_refused(refusal)
        assert english in answer and refusal.asked in answer
    with use_locale("ru"):
        answer = clip_texts.clip_refused(refusal)
        assert russian in answer and refusal.asked in answer
    if refusal.problem is ClipProblem.PAST_END:
        assert "(10:00)" in answer


def test_what_was_asked_is_quoted_back_escaped_and_short() -> None:
    refusal = ClipRangeError(ClipProblem.MALFORMED, "<b>1:2:3:4</b>-5" + "9" * 80)
    answer = clip_texts.clip_refused(refusal)
    assert "<b>" not in answer and "&lt;b&gt;" in answer
    assert "9" * 60 not in answer


def test_clip_buttons_and_subtitles_speak_both_languages() -> None:
    with use_locale("ru"):
        assert clip_texts.clip_button(Clip(80, 125)) == "✂ Фрагмент 1:20–2:05"
        assert clip_texts.clip_button(Clip(3723)) == "✂ С 1:02:03"
        assert clip_texts.subtitles_button() == "💬 субтитры"
        assert clip_texts.subtitles_caption("ru", automatic=True) == (
            "Субтитры (ru, созданы автоматически)"
        )
    assert clip_texts.clip_button(Clip(80, 125)) == "✂ Clip 1:20–2:05"
    assert clip_texts.clip_offered(Clip(80)) == "✂ marks the choices that send only 1:20–."
    assert clip_texts.subtitles_caption("en", automatic=False) == "Subtitles (en)"


def test_the_duration_limit_speaks_of_the_clip_and_offers_one() -> None:
    assert "longer than 15 minutes" in clip_texts.clip_too_long(15)
    assert "1:20-2:05" in clip_texts.video_too_long_ask_a_clip(15)
    with use_locale("ru"):
        assert "длиннее 15 мин." in clip_texts.clip_too_long(15)
        assert "Пришлите ссылку ещё раз" in clip_texts.video_too_long_ask_a_clip(15)
