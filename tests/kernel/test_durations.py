"""`wait_in_words`: the 429 page's "try again in …", at each boundary."""

import pytest

from kernel.durations import wait_in_words


@pytest.mark.parametrize(
    ("seconds", "words"),
    [
        (0, "a minute"),
        (1, "a minute"),
        (60, "a minute"),
        (89, "a minute"),
        (90, "about 2 minutes"),
        (149, "about 2 minutes"),
        (150, "about 3 minutes"),
        (485, "about 8 minutes"),
        (600, "about 10 minutes"),
        (3569, "about 59 minutes"),
        (3570, "about an hour"),
        (5399, "about an hour"),
        (5400, "about 2 hours"),
        (86400, "about 24 hours"),
    ],
)
def test_wait_in_words(seconds, words):
    assert wait_in_words(seconds) == words


def test_a_negative_wait_reads_as_a_minute():
    assert wait_in_words(-5) == "a minute"
