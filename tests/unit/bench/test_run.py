"""The command line: flags, --quick, and the limits it enforces."""

from __future__ import annotations

import pytest

from bench.run import parse_args


def test_defaults() -> None:
    args = parse_args([])
    assert (args.duration, args.rounds, args.connections, args.out, args.profile) == (3.0, 3, 32, None, None)
    assert args.no_access_middleware is False


def test_quick_is_one_round_of_one_second() -> None:
    args = parse_args(["--quick", "--duration", "9", "--rounds", "9"])
    assert (args.duration, args.rounds) == (1.0, 1)


@pytest.mark.parametrize("argv", [["--duration", "0"], ["--rounds", "0"], ["--connections", "513"]])
def test_out_of_range(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as raised:
        parse_args(argv)
    assert raised.value.code == 2
