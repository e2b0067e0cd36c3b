"""The job contract's options: one set of rules for the API's form, the CLI's flags and metadata.json."""

from __future__ import annotations

import math

import pytest
from pydantic import ValidationError

from groovesheet_shared.errors import InvalidJobOptions
from groovesheet_shared.jobs import Job, new_job_id
from groovesheet_shared.options import (
    BPM_MAX,
    BPM_MIN,
    DEFAULT_TITLE,
    TIME_SIGNATURES,
    TITLE_MAX_CHARS,
    JobOptions,
    clean_filename,
    is_forbidden_char,
    title_from_filename,
)


def refused(code: str, **fields: object) -> InvalidJobOptions:
    with pytest.raises(InvalidJobOptions) as caught:
        JobOptions.from_fields(**fields)  # type: ignore[arg-type]
    assert caught.value.code == code
    return caught.value


def test_the_contract_is_what_the_api_documents():
    assert (BPM_MIN, BPM_MAX) == (30.0, 300.0)
    assert TIME_SIGNATURES == ("2/4", "3/4", "4/4", "5/4", "6/8", "7/8", "12/8")
    assert TITLE_MAX_CHARS == 200


@pytest.mark.parametrize("bpm", ["30", "300", " 94.5 ", 120, 120.0])
def test_bpm_in_range_is_taken(bpm):
    assert JobOptions.from_fields(bpm=bpm).bpm == pytest.approx(float(str(bpm).strip()))


@pytest.mark.parametrize("bpm", ["29.9", "300.1", "20", "900", "fast", "nan", "inf", "-120", True, math.nan])
def test_bpm_outside_the_range_is_refused_with_what_to_send(bpm):
    error = refused("invalid_bpm", bpm=bpm)
    assert "30 to 300" in error.message and "leave bpm out" in error.message


def test_empty_bpm_means_detect_it():
    assert JobOptions.from_fields(bpm="  ").bpm is None


@pytest.mark.parametrize("signature", TIME_SIGNATURES)
def test_each_time_signature_is_taken(signature):
    assert JobOptions.from_fields(time_signature=f" {signature} ").time_signature == signature


@pytest.mark.parametrize("signature", ["9/8", "4/5", "3/2", "four", "4 / 4", "16/4"])
def test_other_time_signatures_are_refused(signature):
    error = refused("invalid_time_signature", time_signature=signature)
    assert "12/8" in error.message
    # Leaving it out does not mean 4/4: the worker reads the meter from the music.
    assert "read from the music" in error.message and "4/4." not in error.message


@pytest.mark.parametrize("value", [None, "", "  "])
def test_an_omitted_time_signature_is_left_to_the_music(value):
    assert JobOptions.from_fields(time_signature=value).time_signature is None


@pytest.mark.parametrize(
    ("text", "value"), [("true", True), ("ON", True), ("1", True), ("false", False), ("", False)]
)
def test_drums_only_words(text, value):
    assert JobOptions.from_fields(drums_only=text).drums_only is value


def test_drums_only_nonsense_is_refused():
    refused("invalid_drums_only", drums_only="maybe")


@pytest.mark.parametrize(
    "title", ["bad\x00title", "bell\x07", "end\ufffe", "end\uffff", "nonchar\ufdd0", "esc\x1b[31m", "c1\x85x"]
)
def test_typed_titles_with_characters_sheet_music_cannot_hold_are_refused(title):
    error = refused("invalid_title", title=title)
    assert "U+" in error.message and "Remove it" in error.message


def test_typed_title_line_breaks_and_tabs_become_spaces():
    assert JobOptions.from_fields(title="  Back\tin\r\nBlack  ").title == "Back in Black"


def test_typed_title_that_is_too_long_is_refused():
    error = refused("invalid_title", title="x" * (TITLE_MAX_CHARS + 1))
    assert "201 characters" in error.message
    assert JobOptions.from_fields(title="x" * TITLE_MAX_CHARS).title == "x" * TITLE_MAX_CHARS


def test_without_a_title_the_file_name_is_used_cleaned_never_refused():
    assert JobOptions.from_fields(filename="My Song.mp3").title == "My Song"
    assert JobOptions.from_fields(filename="bad\x00na\x1fme.mp3").title == "badname"
    assert JobOptions.from_fields(filename="\ufffe.mp3").title == DEFAULT_TITLE
    long = JobOptions.from_fields(filename="y" * 600 + ".mp3").title
    assert long is not None and len(long) <= TITLE_MAX_CHARS
    # An empty title field also falls back to the file name.
    assert JobOptions.from_fields(title="  ", filename="take.wav").title == "take"


def test_file_names_lose_folders_and_unusual_characters():
    assert clean_filename("C:\\Users\\me\\song.mp3") == "song.mp3"
    assert clean_filename("../../etc/passwd") == "passwd"
    assert clean_filename("a\x00b.mp3") == "ab.mp3"
    assert clean_filename("") == "song"
    assert clean_filename(None) == "song"
    assert len(clean_filename("z" * 1000)) == 255
    assert title_from_filename(None) == DEFAULT_TITLE


def test_forbidden_characters():
    assert all(
        is_forbidden_char(c) for c in ("\x00", "\x1f", "\x7f", "\x9f", "\ufffe", "\U0001fffe", "\ufdd5")
    )
    assert not any(is_forbidden_char(c) for c in ("a", "é", "ß", "鼓", "🥁", " "))


def test_building_the_model_directly_validates_too():
    with pytest.raises(ValidationError, match="bpm must be"):
        JobOptions(bpm=20)
    with pytest.raises(ValidationError, match="time_signature must be"):
        JobOptions(time_signature="9/8")
    # A title is made writable rather than refused: a stored job always reaches the writer intact.
    assert JobOptions(title="ok\ufffe title\x00").title == "ok title"


def test_a_stored_job_with_options_outside_the_contract_does_not_load():
    job = Job(
        job_id=new_job_id(), filename="a.wav", content_type="audio/wav", size_bytes=1, input_name="input.wav"
    )
    data = job.to_json().replace('"bpm": null', '"bpm": 500.0')
    with pytest.raises(ValidationError):
        Job.from_json(data)
