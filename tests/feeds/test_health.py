from pmarb.feeds.backoff import Backoff
from pmarb.feeds.health import FeedHealth


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_freshness_follows_data_messages_and_invalidation() -> None:
    clock = Clock()
    health = FeedHealth("test", clock=clock)
    assert not health.is_fresh("A", 5)
    health.record_message("A")
    assert health.is_fresh("A", 5)
    clock.now += 6
    assert not health.is_fresh("A", 5), "silence makes a key stale"
    health.record_message("A")
    health.invalidate("A")
    assert not health.is_fresh("A", 5), "an invalidated key waits for fresh data"
    health.record_message("A")
    assert health.is_fresh("A", 5)
    health.invalidate_all()
    assert not health.is_fresh("A", 5)


def test_malformed_messages_are_counted() -> None:
    health = FeedHealth("test")
    for _ in range(3):
        health.record_malformed("bad json", "{oops")
    snapshot = health.snapshot(5)
    assert snapshot.malformed == 3 and snapshot.last_error == "bad json"


def test_backoff_grows_caps_and_resets() -> None:
    backoff = Backoff(initial=1, maximum=4, factor=2, jitter=0)
    assert [backoff.next_delay() for _ in range(4)] == [1, 2, 4, 4]
    backoff.reset()
    assert backoff.next_delay() == 1
