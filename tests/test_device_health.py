"""A swift device that fails while mounted (XFS shut down after I/O errors: every access
answers EIO) is told apart from one the reading user may not open, and the kernel's line
about its block device comes with it."""

from __future__ import annotations

from dataclasses import dataclass

from afterboot.domains.storage import unreadable_devices
from afterboot.reads.hostreads import PART
from afterboot.snapshot import ReadResult


@dataclass
class Host:
    text: str
    name: str = "storage2"

    def read(self, name: str, *, again: bool = False) -> ReadResult:
        assert name == "swift_device_health"
        return ReadResult(name, 0, self.text, "")


KERNEL = "\n".join(
    [
        f"{PART} kernel",
        "[100.1] XFS (loop0): Log I/O Error (0x6) detected: Shutting down filesystem.",
        "[200.2] XFS (loop1): Metadata I/O error in xfs_trans_read_buf at daddr 0x2",
        "[200.3] XFS (loop1): Log I/O Error (0x6) detected at xfs_fs_goingdown. Shutting down.",
    ]
)


def test_an_unreadable_device_comes_with_its_kernel_line() -> None:
    host = Host(
        "ok\td1\n"
        "unreadable\td2\tloop1\tls: cannot access '/srv/node/d2': Input/output error\n" + KERNEL
    )
    faults = unreadable_devices(host)  # type: ignore[arg-type]
    assert list(faults) == ["d2"]
    fault = faults["d2"]
    assert fault.error == "Input/output error"
    assert fault.kernel_name == "loop1"
    assert fault.kernel.startswith("[200.3] XFS (loop1)")  # the last line about loop1


def test_a_permission_the_reader_lacks_says_nothing_about_the_device() -> None:
    host = Host(
        "unreadable\td3\tsdc\tls: cannot open directory '/srv/node/d3': Permission denied\n"
        f"{PART} kernel\n"
    )
    assert unreadable_devices(host) == {}  # type: ignore[arg-type]


def test_no_kernel_line_for_another_device_is_borrowed() -> None:
    host = Host(
        "unreadable\td4\tsdd\tls: cannot access '/srv/node/d4': Input/output error\n" + KERNEL
    )
    fault = unreadable_devices(host)["d4"]  # type: ignore[arg-type]
    assert fault.kernel == ""
