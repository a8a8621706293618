"""Which queue changes a waiting customer is told about."""

from kefu.realtime.queue import worth_telling


def frame(position: int, eta_s: int) -> dict[str, int | str]:
    return {"type": "queue", "position": position, "eta_s": eta_s}


def test_near_the_front_every_step_is_news() -> None:
    assert worth_telling(frame(4, 180), frame(3, 180))
    assert worth_telling(frame(11, 360), frame(10, 360))


def test_picked_up_is_always_news() -> None:
    assert worth_telling(frame(480, 3000), frame(0, 0))


def test_far_back_small_moves_wait() -> None:
    assert not worth_telling(frame(490, 3060), frame(488, 3060))
    assert not worth_telling(frame(490, 3060), frame(490, 3060))


def test_far_back_a_tenth_or_a_minute_is_news() -> None:
    assert worth_telling(frame(490, 3060), frame(441, 3060))
    assert worth_telling(frame(490, 3060), frame(488, 2880))  # the estimate moved 3 minutes
