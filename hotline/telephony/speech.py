"""Chinese text to telephone audio (语音合成): numbers to words, words to pinyin, pinyin to speech.

The synthesiser is espeak-ng with the voice ``cmn-latn-pinyin``, which reads pinyin with tone
numbers (``huan1 ying2``) correctly; the plain ``cmn`` voice reads the tone digits in English, and
neither voice reads Arabic numerals in Chinese. So a text goes through three steps:

1. ``normalise``: Arabic numbers become Chinese words. How a number is read depends on what it is
   (see ``normalise``): ``12345热线`` → 幺二三四五热线, ``2位`` → 两位, ``第2`` → 第二.
2. ``to_pinyin``: pypinyin's ``TONE3`` style (``zhong1 guo2``), the neutral tone as ``5``
   (``de5``); punctuation becomes a pause.
3. ``synthesise``: espeak-ng reads the pinyin (as SSML, so that pauses have a fixed length), and
   sox turns its output into what rtpengine plays most evenly: a WAV, 8 kHz, mono, 16-bit, with a
   short lead-in of silence so the first syllable is not clipped while the media path settles.

Reading of the digit 1: hotlines read ``1`` as 幺 (yāo) when numbers are read digit by digit
(tracking numbers, phone numbers, the hotline's own number 幺二三四五), because 一 (yī) and 七
(qī) are easily confused on a telephone line. Numbers read as values use 一 (一百零五).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pypinyin import Style, lazy_pinyin

ESPEAK = "espeak-ng"
SOX = "sox"
VOICE = "cmn-latn-pinyin"
SPEED_WPM = 160  # espeak-ng's default (175) is hurried for a caller on a noisy line
SAMPLE_RATE = 8000
LEAD_IN_S = 0.2  # silence before the first syllable
TAIL_S = 0.15  # and after the last
LEVEL_DB = -3.0  # peak level of synthesised prompts (dBFS)
SHORT_PAUSE_MS = 250  # ，；：
GROUP_PAUSE_MS = 150  # 、 (also between the groups of a number read digit by digit)
LONG_PAUSE_MS = 500  # 。！？
TIMEOUT_S = 60.0
# Part of every cache key of synthesised audio: change it when the pipeline's output changes.
SPEECH_VERSION = f"1:{VOICE}:{SPEED_WPM}:{SAMPLE_RATE}:{LEAD_IN_S}:{TAIL_S}:{LEVEL_DB}"


class SpeechUnavailable(RuntimeError):
    """A program the synthesiser needs (espeak-ng or sox) is not installed, or it failed."""


# --- Numbers --------------------------------------------------------------------------------------

DIGITS = "零一二三四五六七八九"
_SECTION_UNITS = ("", "万", "亿", "万亿")
_PLACE_UNITS = ("", "十", "百", "千")


def _section(n: int, *, counting: bool, leading: bool) -> str:
    """0 < n < 10000 in words, without the leading 一 of 十 when it starts the number."""
    out: list[str] = []
    zero = False
    for place in (3, 2, 1, 0):
        digit = n // 10**place % 10
        if digit == 0:
            zero = bool(out)
            continue
        if zero:
            out.append("零")
            zero = False
        if digit == 1 and place == 1 and leading and not out:
            out.append("十")  # 十二, not 一十二
            continue
        word = DIGITS[digit]
        if digit == 2 and counting and (place >= 3 or (place == 2 and leading and not out)):
            word = "两"  # 两千, 两百 at the start; 二十 and 一百二十 stay
        out.append(word + _PLACE_UNITS[place])
    return "".join(out)


def chinese_number(n: int, *, counting: bool = False) -> str:
    """The reading of an integer: 12 → 十二, 105 → 一百零五, 20010 → 两万零一十 (counting).

    ``counting`` is for a number that counts something (两位来电, 两分钟): 2 alone is 两, and 2
    before 千, 万 or 亿 (and before 百 at the start) is 两; 二十 and 十二 never change."""
    if n < 0:
        return "负" + chinese_number(-n, counting=counting)
    if n == 0:
        return "零"
    if n == 2 and counting:
        return "两"
    sections: list[int] = []
    rest = n
    while rest:
        sections.append(rest % 10000)
        rest //= 10000
    if len(sections) > len(_SECTION_UNITS):
        return read_digits(str(n), yao=False)
    out: list[str] = []
    zero = False
    for index in range(len(sections) - 1, -1, -1):
        value = sections[index]
        if value == 0:
            zero = bool(out)
            continue
        if out and (zero or value < 1000):
            out.append("零")
        zero = False
        leading = not out
        words = _section(value, counting=counting, leading=leading)
        if counting and index > 0 and value == 2:
            words = "两"  # 两万, 两亿
        out.append(words + _SECTION_UNITS[index])
    return "".join(out)


def read_digits(digits: str, *, yao: bool = True) -> str:
    """Digit by digit: ``2026112100123`` → 二零二六幺幺二幺零零幺二三 (``yao``: 1 as 幺).

    Characters other than digits are kept (``*`` → 星, ``#`` → 井, as keyed on a phone)."""
    words = {"*": "星", "#": "井"}
    out = []
    for char in digits:
        if char.isdigit() and char.isascii():
            out.append("幺" if char == "1" and yao else DIGITS[int(char)])
        else:
            out.append(words.get(char, char))
    return "".join(out)


def group_digits(digits: str) -> list[str]:
    """How a long number is read in groups: a mobile number 3-4-4, anything else in fours with a
    last digit left alone joined to the group before (2026 1121 00123)."""
    if len(digits) == 11 and digits.startswith("1"):
        return [digits[:3], digits[3:7], digits[7:]]
    groups = [digits[i : i + 4] for i in range(0, len(digits), 4)]
    if len(groups) > 1 and len(groups[-1]) == 1:
        groups[-2:] = [groups[-2] + groups[-1]]
    return groups


# Words after a number that count things: the number takes 两 (两位, 两分钟).
COUNT_WORDS = (
    "位", "个", "名", "分钟", "小时", "秒", "天", "周", "次", "遍", "件", "项", "条", "人", "家",
    "种", "台", "张", "份", "元", "块", "本", "户", "辆", "年",
)  # fmt: skip
# Words after a number that make it a value, whatever its length (1000000元, 30000平方米).
UNIT_WORDS = (
    *COUNT_WORDS, "米", "平方", "公里", "公斤", "千克", "吨", "升", "度", "岁", "楼", "层", "万", "亿",
)  # fmt: skip

# Numbers read digit by digit whatever their length: service numbers, and numbers after a word
# that introduces a telephone or tracking number (请拨打110, 工单号123).
SERVICE_NUMBERS = frozenset({"110", "119", "120", "122", "114", "12110", "12315", "12345", "12366", "12369"})
NUMBER_WORDS = ("拨打", "致电", "拨", "电话", "号码", "热线", "手机", "工单号", "编号", "单号", "分机")

_NUMBER = re.compile(
    r"(?P<pct>[0-9]+(?:\.[0-9]+)?)%"
    r"|(?P<hour>[0-9]{1,2}):(?P<minute>[0-9]{2})(?![0-9])"
    r"|(?P<dec>[0-9]+\.[0-9]+)"
    r"|(?P<int>[0-9]+)"
)
_FULL_WIDTH = str.maketrans("０１２３４５６７８９％：．", "0123456789%:.")


def _decimal(text: str) -> str:
    whole, _, fraction = text.partition(".")
    words = chinese_number(int(whole))
    return words + ("点" + read_digits(fraction, yao=False) if fraction else "")


def _integer(digits: str, before: str, after: str) -> str:
    if digits.startswith("0") and len(digits) > 1:
        return read_digits(digits)  # 0571…: a telephone number
    if len(digits) == 4 and after.startswith("年"):
        return read_digits(digits, yao=False)  # 二零二六年
    if before.rstrip().endswith(NUMBER_WORDS):
        return read_digits(digits)  # 请拨打110
    if after.startswith(UNIT_WORDS) and len(digits) <= 16:
        return chinese_number(
            int(digits), counting=after.startswith(COUNT_WORDS) and not before.endswith("第")
        )
    if len(digits) >= 5 or digits in SERVICE_NUMBERS:
        return read_digits(digits)  # 12345, 110, tracking and phone numbers
    return chinese_number(int(digits))


def normalise(text: str) -> str:
    """Turn the Arabic numbers in a sentence into the words a person would say.

    - a number followed by a counting word (位, 个, 分钟, 次…) is a quantity: 2位 → 两位, 15分钟 →
      十五分钟; after 第 it is an ordinal (第2位 → 第二位); before a unit (元, 米, 万…) it is read
      as a value at any length;
    - after a word that introduces a number to dial or quote (拨打, 致电, 电话, 工单号…), a number
      is read digit by digit with 1 as 幺 (请拨打110 → 请拨打幺幺零), and so is any other number
      of five digits or more, a service number (110, 119, 120, 12345…) or a number starting with 0
      (12345 → 幺二三四五, 13800138000, 0571…);
    - four digits before 年 are a year, read digit by digit (2026年 → 二零二六年);
    - any other number is read as a value (第3号 → 第三号, 105 → 一百零五);
    - ``8:30`` → 八点三十分, ``8:00`` → 八点, ``3.5`` → 三点五, ``50%`` → 百分之五十.
    """

    def replace(match: re.Match[str]) -> str:
        if match["pct"] is not None:
            return "百分之" + _decimal(match["pct"])
        if match["hour"] is not None:
            hour, minute = int(match["hour"]), int(match["minute"])
            if minute == 0:
                return chinese_number(hour) + "点"
            return chinese_number(hour) + "点" + ("零" if minute < 10 else "") + chinese_number(minute) + "分"
        if match["dec"] is not None:
            return _decimal(match["dec"])
        before = text[: match.start()]
        after = text[match.end() :]
        return _integer(match["int"], before, after)

    text = text.translate(_FULL_WIDTH)
    return _NUMBER.sub(replace, text)


# --- Pinyin ---------------------------------------------------------------------------------------

GROUP_PAUSES = frozenset("、")
SHORT_PAUSES = frozenset("，,；;：:—…-")
LONG_PAUSES = frozenset("。.！!？?\n")
_SYLLABLE = re.compile(r"^[a-zü]+[1-5]$")
_LATIN = re.compile(r"[A-Za-z]+")


@dataclass(frozen=True, slots=True)
class Pause:
    ms: int


Token = str | Pause


def tokens(text: str) -> list[Token]:
    """The syllables (``huan1``) and pauses of a text, numbers already turned into words.

    Latin letters are kept as lower-case words (the pinyin voice reads them as pinyin would, so
    keep them out of prompt texts); other symbols are dropped. Pauses never repeat or start."""
    out: list[Token] = []

    def pause(ms: int) -> None:
        if not out:
            return
        if isinstance(out[-1], Pause):
            out[-1] = Pause(max(out[-1].ms, ms))
        else:
            out.append(Pause(ms))

    for item in lazy_pinyin(normalise(text), style=Style.TONE3, neutral_tone_with_five=True):
        if _SYLLABLE.match(item):
            out.append(item)
            continue
        for piece in re.findall(r"[A-Za-z]+|\S", item):
            if piece in LONG_PAUSES:
                pause(LONG_PAUSE_MS)
            elif piece in SHORT_PAUSES:
                pause(SHORT_PAUSE_MS)
            elif piece in GROUP_PAUSES:
                pause(GROUP_PAUSE_MS)
            elif _LATIN.fullmatch(piece):
                out.append(piece.lower())
    while out and isinstance(out[-1], Pause):
        out.pop()
    return out


def to_pinyin(text: str) -> str:
    """What the synthesiser reads, as one line: ``huan1 ying2 zhi4 dian4, …``."""
    words: list[str] = []
    for token in tokens(text):
        if isinstance(token, Pause):
            words[-1] += "." if token.ms >= LONG_PAUSE_MS else ","
        else:
            words.append(token)
    return " ".join(words)


def to_ssml(text: str) -> str:
    """The text as SSML for espeak-ng: syllables with fixed-length breaks between phrases."""
    parts = [f'<break time="{t.ms}ms"/>' if isinstance(t, Pause) else t for t in tokens(text)]
    return "<speak>" + " ".join(parts) + "</speak>"


# --- Audio ----------------------------------------------------------------------------------------


def missing_tools(*names: str) -> list[str]:
    """Which of the programs (by default espeak-ng and sox) cannot be found on PATH."""
    return [name for name in (names or (ESPEAK, SOX)) if shutil.which(name) is None]


def require_tools(*names: str) -> None:
    missing = missing_tools(*names)
    if missing:
        raise SpeechUnavailable(
            f"{' and '.join(missing)} not installed: prompts cannot be made "
            "(apt-get install espeak-ng sox libsox-fmt-mp3)"
        )


def run(args: Sequence[str], *, stdin: bytes | None = None) -> bytes:
    """Run a program, raising ``SpeechUnavailable`` with its error output when it fails."""
    require_tools(args[0])
    try:
        done = subprocess.run(  # noqa: S603 - our own argument list, no shell
            list(args), input=stdin, capture_output=True, timeout=TIMEOUT_S, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SpeechUnavailable(f"{args[0]} failed: {exc}") from exc
    if done.returncode != 0:
        error = done.stderr.decode("utf-8", "replace").strip()
        raise SpeechUnavailable(f"{args[0]} failed ({done.returncode}): {error[-500:]}")
    return done.stdout


# sox arguments that write the library's audio: WAV, 8 kHz, mono, 16-bit signed (joined, measured,
# previewed in the browser).
WAV_OUT = ("-t", "wav", "-r", str(SAMPLE_RATE), "-c", "1", "-b", "16", "-e", "signed-integer")
# ... and what rtpengine plays: G.711 A-law in a Sun .au file, 8 kHz, mono (docs/prompts.md,
# "What rtpengine plays": a fifteenth of the media server's work per play of the WAV, evenly paced).
PLAY_OUT = ("-t", "au", "-r", str(SAMPLE_RATE), "-c", "1", "-e", "a-law")


def synthesise(text: str, path: Path) -> Path:
    """Read ``text`` (Chinese, with numbers) into a WAV at ``path``: 8 kHz, mono, 16-bit."""
    require_tools(ESPEAK, SOX)
    ssml = to_ssml(text)
    if ssml == "<speak></speak>":
        raise ValueError("nothing to read: the text has no words")
    speech = run(
        [ESPEAK, "-m", "-v", VOICE, "-s", str(SPEED_WPM), "--stdin", "--stdout"], stdin=ssml.encode()
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    effects = ["channels", "1", "rate", str(SAMPLE_RATE), "gain", "-n", str(LEVEL_DB)]
    effects += ["pad", str(LEAD_IN_S), str(TAIL_S)]
    run([SOX, "-q", "-D", "-t", "wav", "-", *WAV_OUT, str(path), *effects], stdin=speech)
    return path


def to_play_file(wav: Path, path: Path) -> Path:
    """A library WAV → the file rtpengine plays (``PLAY_OUT``) at ``path``. No dither (``-D``), so
    each byte is the standard G.711 A-law code of the WAV's sample."""
    require_tools(SOX)
    run([SOX, "-q", "-D", str(wav), *PLAY_OUT, str(path)])
    return path


def convert(source: Path, path: Path) -> Path:
    """Any audio sox reads (WAV, MP3, OGG…) → a WAV at ``path``: 8 kHz, mono, 16-bit."""
    require_tools(SOX)
    path.parent.mkdir(parents=True, exist_ok=True)
    run([SOX, "-q", str(source), *WAV_OUT, str(path), "channels", "1", "rate", str(SAMPLE_RATE)])
    return path
