"""The prompt library: every name the engine and the demo play has audio; a sequence is one file;
files are cached by version, rebuilt when a prompt changes, written atomically; recordings win
over texts; music on hold is a tune that loops."""

from __future__ import annotations

import threading
import wave
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from django.core.files.base import ContentFile
from django.utils import timezone

from hotline.callcenter.demo import MAIN_FLOW
from hotline.callcenter.engine.config import CentreConfig, QueueConfig
from hotline.telephony import speech
from hotline.telephony.defaults import DEFAULT_PROMPTS, PURPOSES
from hotline.telephony.models import Prompt
from hotline.telephony.pcapwav import ALAW_TO_LINEAR
from hotline.telephony.prompts import (
    PART_RECORDING,
    PART_TEXT,
    PART_TUNE,
    PromptLibrary,
    UnknownPrompt,
    au_header,
    duration_s,
)
from hotline.telephony.tests.test_speech import require_speech_tools, rms, seconds, wav_format
from hotline.workorders.choices import OrderState

pytestmark = pytest.mark.django_db


@pytest.fixture
def library(tmp_path: Path) -> PromptLibrary:
    return PromptLibrary(root=tmp_path / "prompts", rows_ttl_s=0)


def engine_prompt_names() -> set[str]:
    """Every fixed prompt name the engine's defaults and the demo flow play."""
    names = {"status_unknown"}  # the order-status node's own
    for node in MAIN_FLOW["nodes"].values():
        names.update(node.get("prompts", ()))
        names.update(node.get("invalid_prompts", ()))
    config = CentreConfig()
    names.update(
        {
            config.voicemail_prompt,
            config.callback_offer_prompt,
            config.callback_done_prompt,
            config.busy_prompt,
        }
    )
    names.add(QueueConfig(code="Q").music)
    return names


def sine_file(path: Path, seconds_: float, *, rate: int = 44100, channels: int = 2) -> bytes:
    output = ["-r", str(rate), "-c", str(channels), "-b", "16", str(path)]
    speech.run([speech.SOX, "-n", *output, "synth", str(seconds_), "sine", "330"])
    return path.read_bytes()


# --- Names → parts (no audio made) -----------------------------------------------------------------


def test_every_name_the_engine_and_the_demo_play_has_audio(library: PromptLibrary) -> None:
    names = engine_prompt_names()
    assert {"welcome", "main_menu", "invalid", "enter_number", "leave_message", "goodbye", "moh"} <= names
    for name in names:
        part = library.part_for(name)
        assert part.kind in (PART_TEXT, PART_TUNE), name
        assert name in PURPOSES, f"{name} has no purpose for the admin"
    assert library.part_for("moh").kind == PART_TUNE
    assert library.is_loop("moh") and not library.is_loop("welcome")


@pytest.mark.parametrize("state", [s.value for s in OrderState])
def test_every_order_state_has_its_own_status_prompt(library: PromptLibrary, state: str) -> None:
    # The directory answers status:<state>; each state is read with its own text.
    assert library.text_of(f"status:{state}") == DEFAULT_PROMPTS[f"status_{state}"]


def test_dynamic_forms(library: PromptLibrary) -> None:
    assert library.text_of("digits:2026112100123") == "二零二六、幺幺二幺、零零幺二三"
    # position counts the caller (1 = next): the caller hears how many are ahead
    assert library.text_of("position:3") == "您前面还有2位来电，请耐心等待。"
    assert speech.normalise(library.text_of("position:3")).startswith("您前面还有两位来电")
    assert library.text_of("position:1") == "您是下一位，请稍候。"
    assert speech.normalise(library.text_of("wait_minutes:2")) == "预计等待时间约两分钟。"
    assert library.text_of("status:something_new") == DEFAULT_PROMPTS["status_other"]
    # the engine's tests use a directory that answers the prompt name itself
    assert library.text_of("status_handling") == DEFAULT_PROMPTS["status_handling"]


@pytest.mark.parametrize(
    "name", ["nothing_here", "position:abc", "digits:12a", "wait_minutes:", "status:Bad!"]
)
def test_unknown_names_are_refused(library: PromptLibrary, name: str) -> None:
    with pytest.raises(UnknownPrompt):
        library.part_for(name)
    with pytest.raises(UnknownPrompt):
        library.file_for((name,))


def test_a_row_replaces_a_template_of_a_dynamic_prompt(library: PromptLibrary) -> None:
    Prompt.objects.create(name="position", text="在您之前还有{n}位市民。")
    assert library.text_of("position:4") == "在您之前还有3位市民。"
    Prompt.objects.create(name="wait_minutes", text="没有编号的文字")  # without {n}: the built-in stays
    assert library.text_of("wait_minutes:5") == "预计等待时间约5分钟。"


def test_rows_are_read_again_after_their_time_to_live(tmp_path: Path) -> None:
    now = [0.0]
    library = PromptLibrary(root=tmp_path, rows_ttl_s=5, clock=lambda: now[0])
    assert library.text_of("welcome") == DEFAULT_PROMPTS["welcome"]
    Prompt.objects.create(name="welcome", text="新的欢迎词。")
    assert library.text_of("welcome") == DEFAULT_PROMPTS["welcome"]  # still the rows read at 0 s
    now[0] = 5.0
    assert library.text_of("welcome") == "新的欢迎词。"
    Prompt.objects.filter(name="welcome").update(text="又改了。")
    library.refresh()
    assert library.text_of("welcome") == "又改了。"


def test_a_row_without_text_or_recording_falls_back_to_the_built_in_text(library: PromptLibrary) -> None:
    Prompt.objects.create(name="goodbye", text="  ")
    assert library.text_of("goodbye") == DEFAULT_PROMPTS["goodbye"]


# --- Files ---------------------------------------------------------------------------------------


def test_a_sequence_is_one_file_as_long_as_its_parts(library: PromptLibrary) -> None:
    require_speech_tools()
    names = ("position:3", "wait_minutes:2")
    parts = [library.file_for((name,)) for name in names]
    whole = library.file_for(names)
    assert whole not in parts
    assert wav_format(whole) == (8000, 1, 2)
    assert duration_s(whole) == pytest.approx(sum(duration_s(p) for p in parts), abs=0.001)
    assert duration_s(whole) > 3  # two sentences of speech
    assert rms(whole) > 0.03


def test_files_are_cached_and_made_once(library: PromptLibrary, monkeypatch: pytest.MonkeyPatch) -> None:
    require_speech_tools()
    calls: list[str] = []
    real = speech.synthesise

    def counting(text: str, path: Path) -> Path:
        calls.append(text)
        return real(text, path)

    monkeypatch.setattr(speech, "synthesise", counting)
    first = library.file_for(("welcome", "main_menu"))
    stamp = first.stat().st_mtime_ns
    again = library.file_for(("welcome", "main_menu"))
    assert again == first and again.stat().st_mtime_ns == stamp
    assert len(calls) == 2  # one per part, not per request
    library.file_for(("main_menu",))
    assert len(calls) == 2  # the part is shared with the sequence
    other = PromptLibrary(root=library.root, rows_ttl_s=0)  # another process, the same directory
    assert other.file_for(("welcome", "main_menu")) == first
    assert len(calls) == 2


def test_editing_a_prompt_makes_new_audio(library: PromptLibrary) -> None:
    require_speech_tools()
    built_in = library.file_for(("welcome",))
    sequence = library.file_for(("welcome", "goodbye"))
    prompt = Prompt.objects.create(name="welcome", text="您好。")
    mine = library.file_for(("welcome",))
    assert mine != built_in
    assert seconds(mine) < seconds(built_in) - 3  # the short text, not the built-in one
    assert library.file_for(("welcome", "goodbye")) != sequence

    prompt.text = "您好，这里是12345热线。"
    prompt.updated_at = timezone.now() + timedelta(seconds=1)
    prompt.save()
    edited = library.file_for(("welcome",))
    assert edited != mine and seconds(edited) > seconds(mine)

    prompt.updated_at += timedelta(seconds=1)  # saved again without a change: a new version too
    prompt.save()
    assert library.file_for(("welcome",)) != edited


def test_an_uploaded_recording_wins_over_the_text_and_is_converted(
    library: PromptLibrary, tmp_path: Path
) -> None:
    require_speech_tools()
    content = sine_file(tmp_path / "source.wav", 1.25)  # 44.1 kHz stereo
    prompt = Prompt(name="welcome", text="这段文字不会被读出。")
    prompt.recording.save("welcome.wav", ContentFile(content), save=False)
    prompt.save()
    assert library.part_for("welcome").kind == PART_RECORDING
    path = library.file_for(("welcome",))
    assert wav_format(path) == (8000, 1, 2)
    assert seconds(path) == pytest.approx(1.25, abs=0.01)
    assert rms(path) > 0.3  # the sine, not speech
    # in a sequence it is joined to synthesised parts
    assert duration_s(library.file_for(("welcome", "goodbye"))) == pytest.approx(
        1.25 + duration_s(library.file_for(("goodbye",))), abs=0.001
    )


def test_an_mp3_recording_is_converted(library: PromptLibrary, tmp_path: Path) -> None:
    require_speech_tools()
    sine_file(tmp_path / "source.wav", 2.0)
    speech.run([speech.SOX, str(tmp_path / "source.wav"), str(tmp_path / "source.mp3")])
    prompt = Prompt(name="goodbye")
    prompt.recording.save("goodbye.mp3", ContentFile((tmp_path / "source.mp3").read_bytes()), save=False)
    prompt.save()
    path = library.file_for(("goodbye",))
    assert wav_format(path) == (8000, 1, 2)
    assert seconds(path) == pytest.approx(2.0, abs=0.1)  # MP3 frames pad the ends a little


def test_music_on_hold_is_a_gentle_tune_that_loops(library: PromptLibrary) -> None:
    require_speech_tools()
    path = library.file_for(("moh",))
    assert wav_format(path) == (8000, 1, 2)
    length = seconds(path)
    assert 18 <= length <= 30  # long enough that the loop is not tiresome
    for start in range(0, int(length) - 1, 2):  # never silent for two seconds
        assert rms(path, start, start + 2) > 0.01, f"silent at {start} s"
    assert rms(path) < rms(library.file_for(("welcome",)))  # quieter than speech
    # faded at both ends, so the loop has no click
    assert rms(path, 0, 0.01) < 0.01
    assert rms(path, length - 0.01, length) < 0.01
    with wave.open(str(path), "rb") as wav:
        frames = wav.readframes(wav.getnframes())
    assert frames.count(b"\x00\x00") < len(frames) // 4  # not padded with silence


def test_music_rows_use_the_recording_or_the_tune(library: PromptLibrary, tmp_path: Path) -> None:
    require_speech_tools()
    Prompt.objects.create(name="erhu", loop=True)
    tune = library.file_for(("moh",))
    assert library.is_loop("erhu")
    assert library.file_for(("erhu",)) == tune
    prompt = Prompt.objects.get(name="erhu")
    prompt.recording.save("erhu.wav", ContentFile(sine_file(tmp_path / "erhu.wav", 3.0)), save=False)
    prompt.updated_at = timezone.now() + timedelta(seconds=1)
    prompt.save()
    assert seconds(library.file_for(("erhu",))) == pytest.approx(3.0, abs=0.01)
    # music that nobody configured: a waiting caller still hears the tune, not silence
    assert library.file_for(("pipa",), loop=True) == tune


def test_two_threads_make_a_prompt_once_and_leave_no_temporary_files(
    library: PromptLibrary, monkeypatch: pytest.MonkeyPatch
) -> None:
    require_speech_tools()
    calls: list[str] = []
    real = speech.synthesise
    started = threading.Barrier(4)

    def counting(text: str, path: Path) -> Path:
        calls.append(text)
        return real(text, path)

    monkeypatch.setattr(speech, "synthesise", counting)
    results: list[Path] = []
    other = PromptLibrary(root=library.root, rows_ttl_s=0)  # as if a second process

    def work(lib: PromptLibrary) -> None:
        started.wait()
        results.append(lib.file_for(("enter_number",)))

    threads = [threading.Thread(target=work, args=(lib,)) for lib in (library, library, other, other)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(results)) == 1 and len(results) == 4
    assert 1 <= len(calls) <= 2  # once per library (each process has its own locks)
    assert rms(results[0]) > 0.03
    leftovers = [p for p in library.root.rglob("*") if p.is_file() and not p.name.endswith(".wav")]
    assert leftovers == []


def test_a_failed_rendering_leaves_nothing_behind(
    library: PromptLibrary, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(text: str, path: Path) -> Path:
        path.write_bytes(b"RIFF half a file")
        raise speech.SpeechUnavailable("espeak-ng failed (1): broken")

    monkeypatch.setattr(speech, "synthesise", broken)
    with pytest.raises(speech.SpeechUnavailable):
        library.file_for(("goodbye",))
    assert [p for p in library.root.rglob("*") if p.is_file()] == []


def test_build_all_and_warm(library: PromptLibrary) -> None:
    require_speech_tools()
    Prompt.objects.create(name="policy_info", text="最新的政策信息请关注政府网站。")
    made = library.build_all(positions=3, minutes=2)
    names = library.names()
    assert "policy_info" in names and "moh" in names
    assert len(made) == len(set(made))
    for name in (*names, "position:1", "position:3", "wait_minutes:2"):
        assert library.file_for((name,), loop=library.is_loop(name)) in made
    assert all(wav_format(p) == (8000, 1, 2) for p in made)
    warmed = library.warm(["goodbye", ("position:2", "wait_minutes:1"), "no_such_prompt"])
    assert len(warmed) == 2  # the unknown name is skipped
    assert warmed[1] == library.file_for(("position:2", "wait_minutes:1"))
    # what rtpengine plays is made too: one A-law file per WAV
    played = sorted(p.name for p in (library.root / "play").iterdir())
    assert played == sorted({f"{p.parent.name}-{p.stem}.au" for p in [*made, *warmed]})


def test_rtpengine_plays_the_same_audio_as_g711_a_law_in_an_au_file(library: PromptLibrary) -> None:
    require_speech_tools()
    names = ("welcome", "goodbye")
    wav = library.file_for(names)
    played = library.play_file_for(names)
    assert played == library.root / "play" / f"seq-{wav.stem}.au"
    header = au_header(played)
    assert header is not None
    offset, _size, encoding, rate, channels = header
    assert (encoding, rate, channels) == (27, 8000, 1)  # 27: 8-bit G.711 A-law
    assert duration_s(played) == duration_s(wav)
    with wave.open(str(wav), "rb") as source:
        samples = np.frombuffer(source.readframes(source.getnframes()), dtype="<i2").astype(np.int32)
    decoded = ALAW_TO_LINEAR[np.frombuffer(played.read_bytes()[offset:], dtype=np.uint8)].astype(np.int32)
    assert len(decoded) == len(samples)
    # every sample within one A-law step (a sixteenth of its size, 16 near silence): no dither, no
    # other change; speech, not silence
    assert (np.abs(decoded - samples) <= np.maximum(16, np.abs(samples) / 16)).all()
    assert np.abs(samples).max() > 8000
    # made once: found again by this library and by another process's
    stamp = played.stat().st_mtime_ns
    assert library.play_file_for(names) == played
    assert PromptLibrary(root=library.root, rows_ttl_s=0).play_file_for(names) == played
    assert played.stat().st_mtime_ns == stamp


def test_an_edited_prompt_gets_a_new_file_to_play(library: PromptLibrary) -> None:
    require_speech_tools()
    before = library.play_file_for(("goodbye",))
    assert before.name == f"parts-{library.file_for(('goodbye',)).stem}.au"
    Prompt.objects.create(name="goodbye", text="谢谢来电，再见。")
    after = library.play_file_for(("goodbye",))
    assert after != before and after.exists()
    assert duration_s(after) == duration_s(library.file_for(("goodbye",)))
    # music is played from its own file too, as a loop
    music = library.play_file_for(("moh",), loop=True)
    header = au_header(music)
    assert header is not None and header.encoding == 27
    assert duration_s(music) == duration_s(library.file_for(("moh",)))


def test_known_play_file_answers_only_while_the_rows_it_was_found_with_are_current(tmp_path: Path) -> None:
    require_speech_tools()
    now = [0.0]
    library = PromptLibrary(root=tmp_path, rows_ttl_s=5, clock=lambda: now[0])
    assert library.known_play_file(("goodbye",)) is None  # never asked
    first = library.play_file_for(("goodbye",))
    assert library.known_play_file(("goodbye",)) == first
    assert library.known_play_file(("goodbye",), loop=True) is None  # another question
    Prompt.objects.create(name="goodbye", text="谢谢来电，再见。")
    now[0] = 4.9
    assert library.known_play_file(("goodbye",)) == first  # the rows read at 0 s are still current
    now[0] = 5.0
    assert library.known_play_file(("goodbye",)) is None  # they are stale: the row may have changed
    edited = library.play_file_for(("goodbye",))
    assert edited != first and library.known_play_file(("goodbye",)) == edited
    library.refresh()
    assert library.known_play_file(("goodbye",)) is None
    assert library.play_file_for(("goodbye",)) == edited
    edited.unlink()
    assert library.known_play_file(("goodbye",)) is None  # a file removed is made again by play_file_for
    assert library.play_file_for(("goodbye",)) == edited and edited.exists()


def test_duration_of_other_formats_comes_from_sox(tmp_path: Path) -> None:
    require_speech_tools()
    sine_file(tmp_path / "a.wav", 1.5)
    speech.run([speech.SOX, str(tmp_path / "a.wav"), str(tmp_path / "a.ogg")])
    assert duration_s(tmp_path / "a.ogg") == pytest.approx(1.5, abs=0.01)


def test_prompt_library_uses_the_setting(settings: Any, tmp_path: Path) -> None:
    settings.HOTLINE_PROMPT_DIR = tmp_path / "from-settings"
    assert PromptLibrary().root == tmp_path / "from-settings"
