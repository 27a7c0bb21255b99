"""SWIFT-005 reads an object streamed: at most 1 MiB, within --timeout, body closed."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from fixtures.cloud import READ_CAP, read_object
from fixtures.errors import CouldNotRun


class Body:
    def __init__(self, chunks: Iterator[bytes]) -> None:
        self.chunks, self.closed, self.read = chunks, False, 0

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self.chunks:
            self.read += len(chunk)
            yield chunk

    def close(self) -> None:
        self.closed = True


class Swift:
    def __init__(self, body: Body) -> None:
        self.body = body
        self.kwargs: dict[str, Any] = {}

    def get_object(self, container: str, name: str, **kwargs: Any) -> tuple[dict[str, str], Body]:
        self.kwargs = kwargs
        return {"etag": "x"}, self.body


def test_a_huge_object_is_read_up_to_the_cap() -> None:
    swift = Swift(Body(iter([b"x" * 65536] * 100_000)))  # 6.5 GB if read whole
    headers, read = read_object(swift, "c", "o", timeout=5)
    assert headers["etag"] == "x"
    assert read == READ_CAP
    assert swift.kwargs["resp_chunk_size"] == 65536
    assert swift.body.closed


def test_a_trickling_object_ends_at_the_deadline() -> None:
    def trickle() -> Iterator[bytes]:
        while True:
            time.sleep(0.1)
            yield b"x"

    swift = Swift(Body(trickle()))
    started = time.monotonic()
    with pytest.raises(CouldNotRun, match=r"GET c/o did not finish within 1s"):
        read_object(swift, "c", "o", timeout=1)
    assert time.monotonic() - started < 1.5
    assert swift.body.closed


class Account(Swift):
    """An account of two containers, the first empty."""

    def get_account(self, limit: int) -> tuple[dict[str, str], list[dict[str, Any]]]:
        return {}, [{"name": "empty", "count": 0}, {"name": "c2", "count": 3}]

    def get_container(self, name: str, limit: int) -> tuple[dict[str, str], list[dict[str, str]]]:
        assert name == "c2"
        return {}, [{"name": "o1"}]


def test_the_object_read_is_a_cloud_read_of_the_first_object() -> None:
    from fixtures.cloudreads import CLOUD_READS, CloudContext

    swift = Account(Body(iter([b"abc"])))
    ctx = CloudContext(5.0, swift=lambda: swift)
    assert CLOUD_READS["object_read"].fetch(ctx) == {"container": "c2", "object": "o1", "etag": "x"}
    assert swift.body.closed

    class Empty(Account):
        def get_account(self, limit: int) -> tuple[dict[str, str], list[dict[str, Any]]]:
            return {}, [{"name": "empty", "count": 0}]

    assert (
        CLOUD_READS["object_read"].fetch(CloudContext(5.0, swift=lambda: Empty(Body(iter([])))))
        == {}
    )
