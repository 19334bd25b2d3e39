import pytest

from risk_engine import __version__
from risk_engine.cli import build_parser, main


def test_version_flag_prints_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert __version__ in capsys.readouterr().out


def test_every_documented_command_is_registered() -> None:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    assert set(sub.choices) >= {"demo", "screen", "match", "dedupe", "validate", "describe", "serve", "keys"}


def test_unknown_kind_is_a_usage_error() -> None:
    with pytest.raises(SystemExit) as exc:
        main(["validate", "x.csv", "--kind", "nope"])
    assert exc.value.code == 2
