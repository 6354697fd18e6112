"""Chinese text → telephone audio: number readings, pinyin, and the WAV espeak-ng and sox make."""

from __future__ import annotations

import array
import math
import wave
from pathlib import Path

import pytest

from conftest import require_service
from hotline.telephony import speech
from hotline.telephony.speech import (
    Pause,
    SpeechUnavailable,
    chinese_number,
    group_digits,
    normalise,
    read_digits,
    synthesise,
    to_pinyin,
    to_ssml,
    tokens,
)


def require_speech_tools() -> None:
    missing = speech.missing_tools()
    require_service(not missing, f"{', '.join(missing)} (Debian packages espeak-ng, sox)")


def samples(path: Path, start_s: float = 0.0, end_s: float | None = None) -> array.array[int]:
    with wave.open(str(path), "rb") as wav:
        assert wav.getsampwidth() == 2
        rate = wav.getframerate()
        wav.setpos(int(start_s * rate))
        end = wav.getnframes() if end_s is None else min(int(end_s * rate), wav.getnframes())
        data = array.array("h", wav.readframes(max(end - int(start_s * rate), 0)))
    return data


def rms(path: Path, start_s: float = 0.0, end_s: float | None = None) -> float:
    """Root mean square of a 16-bit WAV (or a stretch of it), as a fraction of full scale."""
    data = samples(path, start_s, end_s)
    if not data:
        return 0.0
    return math.sqrt(sum(v * v for v in data) / len(data)) / 32768


def wav_format(path: Path) -> tuple[int, int, int]:
    """(sample rate, channels, bytes per sample)."""
    with wave.open(str(path), "rb") as wav:
        return wav.getframerate(), wav.getnchannels(), wav.getsampwidth()


def seconds(path: Path) -> float:
    with wave.open(str(path), "rb") as wav:
        return wav.getnframes() / wav.getframerate()


# --- Numbers ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("n", "plain", "counting"),
    [
        (0, "零", "零"),
        (2, "二", "两"),
        (10, "十", "十"),
        (12, "十二", "十二"),
        (20, "二十", "二十"),
        (22, "二十二", "二十二"),
        (105, "一百零五", "一百零五"),
        (110, "一百一十", "一百一十"),
        (200, "二百", "两百"),
        (1001, "一千零一", "一千零一"),
        (1010, "一千零一十", "一千零一十"),
        (2222, "二千二百二十二", "两千二百二十二"),
        (10010, "一万零一十", "一万零一十"),
        (20000, "二万", "两万"),
        (100000, "十万", "十万"),
        (1000000, "一百万", "一百万"),
        (100001000, "一亿零一千", "一亿零一千"),
        (-3, "负三", "负三"),
    ],
)
def test_chinese_number(n: int, plain: str, counting: str) -> None:
    assert chinese_number(n) == plain
    assert chinese_number(n, counting=True) == counting


def test_digits_are_read_one_by_one_with_yao_for_one() -> None:
    assert read_digits("2026112100123") == "二零二六幺幺二幺零零幺二三"
    assert read_digits("2026", yao=False) == "二零二六"
    assert read_digits("110#") == "幺幺零井"


def test_long_numbers_are_grouped_as_people_read_them() -> None:
    assert group_digits("13800138000") == ["138", "0013", "8000"]  # a mobile number: 3-4-4
    assert group_digits("2026112100123") == ["2026", "1121", "00123"]  # no digit left alone
    assert group_digits("123") == ["123"]


@pytest.mark.parametrize(
    ("text", "spoken"),
    [
        ("欢迎致电12345热线", "欢迎致电幺二三四五热线"),
        ("您前面还有2位来电", "您前面还有两位来电"),
        ("预计等待12分钟", "预计等待十二分钟"),
        ("您是第2位", "您是第二位"),
        ("满意请按1", "满意请按一"),
        ("请拨打110", "请拨打幺幺零"),
        ("工单号123", "工单号幺二三"),
        ("请拨打0571-88001234", "请拨打零五七幺-八八零零幺二三四"),
        ("2026年11月21日", "二零二六年十一月二十一日"),
        ("上午8:30至下午5:00", "上午八点三十分至下午五点"),
        ("8:05", "八点零五分"),
        ("办结率98.5%", "办结率百分之九十八点五"),
        ("补贴1200000元", "补贴一百二十万元"),
        ("第105号", "第一百零五号"),
        ("１２３４５", "幺二三四五"),
    ],
)
def test_normalise_turns_numbers_into_words(text: str, spoken: str) -> None:
    assert normalise(text) == spoken


def test_pinyin_of_a_known_sentence() -> None:
    assert to_pinyin("欢迎致电12345热线。您前面还有2位来电，请稍候。") == (
        "huan1 ying2 zhi4 dian4 yao1 er4 san1 si4 wu3 re4 xian4. "
        "nin2 qian2 mian4 hai2 you3 liang3 wei4 lai2 dian4, qing3 shao1 hou4"
    )


def test_neutral_tone_is_five_and_punctuation_becomes_pauses() -> None:
    assert tokens("我们的，好吗。") == ["wo3", "men5", "de5", Pause(speech.SHORT_PAUSE_MS), "hao3", "ma5"]
    # pauses never lead, never repeat (the longer wins), never trail
    assert tokens("，你好，。再见！") == ["ni3", "hao3", Pause(speech.LONG_PAUSE_MS), "zai4", "jian4"]
    assert to_ssml("你好，再见") == '<speak>ni3 hao3 <break time="250ms"/> zai4 jian4</speak>'


# --- Audio -----------------------------------------------------------------------------------------


def test_missing_programs_raise_speech_unavailable(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(speech.shutil, "which", lambda name: None if name == speech.ESPEAK else "/bin/x")
    assert speech.missing_tools() == [speech.ESPEAK]
    with pytest.raises(SpeechUnavailable, match="espeak-ng not installed"):
        synthesise("你好", tmp_path / "a.wav")
    assert not (tmp_path / "a.wav").exists()


def test_a_failing_program_raises_with_its_error(tmp_path: Path) -> None:
    require_service(not speech.missing_tools(speech.SOX), "sox")
    with pytest.raises(SpeechUnavailable, match="sox failed"):
        speech.convert(tmp_path / "missing.wav", tmp_path / "out.wav")


def test_a_text_without_words_is_refused(tmp_path: Path) -> None:
    require_speech_tools()
    with pytest.raises(ValueError, match="nothing to read"):
        synthesise("，。！", tmp_path / "a.wav")


def test_synthesised_prompt_is_8khz_mono_16bit_speech(tmp_path: Path) -> None:
    require_speech_tools()
    text = "您好，欢迎致电12345政务服务便民热线。"  # 19 syllables, one short pause
    path = synthesise(text, tmp_path / "welcome.wav")
    assert wav_format(path) == (8000, 1, 2)
    syllables = len([t for t in tokens(text) if isinstance(t, str)])
    assert syllables == 19
    # Mandarin is spoken at 3–6 syllables a second; espeak-ng at 160 wpm reads about 4.
    assert syllables / 6 < seconds(path) - speech.LEAD_IN_S - speech.TAIL_S < syllables / 2.5
    assert rms(path) > 0.03  # speech, not silence
    assert rms(path, 0, speech.LEAD_IN_S * 0.8) < 0.002  # the lead-in is silent


def test_longer_text_makes_longer_audio(tmp_path: Path) -> None:
    require_speech_tools()
    short = synthesise("再见。", tmp_path / "short.wav")
    long = synthesise("感谢您的来电，我们会尽快处理您反映的问题。再见。", tmp_path / "long.wav")
    assert seconds(long) > seconds(short) + 2


def test_convert_makes_8khz_mono_16bit_of_the_same_length(tmp_path: Path) -> None:
    require_service(not speech.missing_tools(speech.SOX), "sox")
    source = tmp_path / "stereo.wav"
    speech.run(
        [speech.SOX, "-n", "-r", "44100", "-c", "2", "-b", "24", str(source), "synth", "1.5", "sine", "440"]
    )
    out = speech.convert(source, tmp_path / "out.wav")
    assert wav_format(out) == (8000, 1, 2)
    assert seconds(out) == pytest.approx(1.5, abs=0.01)
    assert rms(out) > 0.3  # a full-scale sine: RMS ≈ 0.7
