"""`python -m groovesheet_worker.cli`: the same option rules as the API, checked before models load."""

from __future__ import annotations

import pytest

from groovesheet_shared.jobs import OUTPUT_FILES, JobOptions
from groovesheet_worker import cli
from tests.audio_samples import song_bytes
from tests.worker.fake_pipeline import FakePipeline


def never_loaded() -> FakePipeline:
    raise AssertionError("the models must not load for a command line that is refused")


@pytest.mark.parametrize(
    ("flags", "code"),
    [
        (["--bpm", "20"], "invalid_bpm"),  # the worker's old range took 10-500
        (["--bpm", "fast"], "invalid_bpm"),
        (["--time-signature", "9/8"], "invalid_time_signature"),  # the worker took any n/8
        (["--title", "bad\x00title"], "invalid_title"),
        (["--title", "x" * 201], "invalid_title"),
    ],
)
def test_options_outside_the_contract_are_refused_before_loading(tmp_path, capsys, flags, code):
    song = tmp_path / "song.wav"
    song.write_bytes(song_bytes("WAV"))
    assert cli.main([str(song), "--out", str(tmp_path / "out"), *flags], load=never_loaded) == cli.EXIT_USAGE
    assert f"error ({code})" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_missing_file_is_a_usage_error(tmp_path, capsys):
    assert cli.main([str(tmp_path / "nope.mp3")], load=never_loaded) == cli.EXIT_USAGE
    assert "does not exist" in capsys.readouterr().err


def test_transcribes_with_validated_options_and_writes_the_outputs(tmp_path, capsys):
    song = tmp_path / "Groove\x07 take.wav"
    song.write_bytes(song_bytes("WAV"))
    pipeline = FakePipeline()
    out = tmp_path / "out"
    code = cli.main(
        [str(song), "--out", str(out), "--bpm", "94", "--time-signature", "6/8", "--drums-only"],
        load=lambda: pipeline,
    )

    assert code == 0
    # The title comes from the file name, cleaned as the API cleans it.
    assert pipeline.options == [
        JobOptions(title="Groove take", bpm=94, time_signature="6/8", drums_only=True)
    ]
    assert sorted(p.name for p in out.iterdir()) == sorted(OUTPUT_FILES.values())
    printed = capsys.readouterr().out
    assert str(out / OUTPUT_FILES["musicxml"]) in printed and '"total_notes": 1' in printed


def test_typed_title_wins(tmp_path):
    song = tmp_path / "a.wav"
    song.write_bytes(song_bytes("WAV"))
    pipeline = FakePipeline()
    assert (
        cli.main([str(song), "--out", str(tmp_path / "o"), "--title", "Back in Black"], load=lambda: pipeline)
        == 0
    )
    assert pipeline.options[0].title == "Back in Black"


def test_options_from_args_matches_the_api_rules():
    args = cli.parse_args(["x.mp3", "--bpm", " 120 ", "--time-signature", " 3/4 "])
    assert cli.options_from_args(args) == JobOptions(title="x", bpm=120, time_signature="3/4")
