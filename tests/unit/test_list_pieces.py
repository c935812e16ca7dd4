"""How a range's stored days are read as blocks of lists and single days (0021, README "Analytics")."""

from datetime import date, timedelta

from shared.repositories.analytics import EPOCH, list_pieces

# 2026-01-27 is a multiple of 128 days after 1970-01-01: blocks of every level start there.
START = date(2026, 1, 27)


def days(first: date, count: int) -> list[date]:
    return [first + timedelta(days=n) for n in range(count)]


def every_block(first: date, count: int) -> set[tuple[int, date]]:
    """Every aligned block of levels 3 to 7 starting in these days, listed as built."""
    return {
        (level, day)
        for day in days(first, count)
        for level in range(3, 8)
        if (day - EPOCH).days % (1 << level) == 0
    }


def test_the_start_is_aligned_for_every_level() -> None:
    assert (START - EPOCH).days % 128 == 0


def test_no_listed_block_reads_every_day_alone() -> None:
    stored = days(START, 20)
    assert list_pieces(stored, set()) == (stored, [])


def test_the_largest_listed_blocks_that_fit_are_taken() -> None:
    # A 90-day range from 3 days before START: 3 days, then 64, 16 and 4 more days alone
    stored = days(START - timedelta(days=3), 90)
    singles, blocks = list_pieces(stored, every_block(START - timedelta(days=200), 400))
    assert blocks == [(6, START), (4, START + timedelta(days=64))]
    assert singles == stored[:3] + stored[-7:]
    assert len(singles) + sum(1 << level for level, _ in blocks) == 90


def test_a_block_with_a_day_not_stored_is_not_taken() -> None:
    # Day 10 is not stored (it is computed live): the 8-day block holding it is read day by day
    stored = [day for day in days(START, 16) if day != START + timedelta(days=10)]
    singles, blocks = list_pieces(stored, every_block(START, 16))
    assert blocks == [(3, START)]
    assert singles == stored[8:]


def test_an_unlisted_block_falls_back_to_its_listed_halves() -> None:
    stored = days(START, 32)
    listed = every_block(START, 32) - {(5, START), (4, START + timedelta(days=16))}
    assert list_pieces(stored, listed) == (
        [],
        [(4, START), (3, START + timedelta(days=16)), (3, START + timedelta(days=24))],
    )


def test_days_come_in_any_order_and_only_once() -> None:
    stored = days(START, 8)
    assert list_pieces(list(reversed(stored)) + stored[:2], every_block(START, 8)) == ([], [(3, START)])
