"""No false green, at the parsers: each host read's parser takes only what its tool prints.

Every answer of the lab's recorded healthy snapshot parses (the real tools' output, as
the collection pass read it); the same answer with one line that its tool does not print
is could-not-run naming that line, never a host with one filesystem, process, queue or
domain less (``tests/test_no_false_green_reads.py`` asserts the same of the checks)."""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from afterboot.collection import read_host
from afterboot.domains import blocked, containers, rabbitmq, recon
from afterboot.domains.dependencies import answers
from afterboot.domains.discovery import parse_addresses
from afterboot.domains.filesystems import fstab_options, mount_rows, parse_df
from afterboot.domains.hypervisor import (
    nbd_in_use,
    parse_backing_files,
    parse_cpu,
    parse_domains,
)
from afterboot.domains.services import process_state, process_table
from afterboot.domains.storage import device_health, parse_checksums, parse_mounts
from afterboot.domains.units import unit_blocks, units
from afterboot.errors import CouldNotRun
from afterboot.inventory.model import HostSpec
from afterboot.reads.hostreads import PART, name_lines
from afterboot.snapshot import HostSnapshot, ReadResult
from afterboot.transport.connections import Remote

LAB = Path(__file__).resolve().parent / "data" / "snapshots" / "lab-healthy.json.gz"

Parser = Callable[[str, str], object]

# each read's parser, as its checks call it (text, host)
PARSERS: dict[str, Parser] = {
    "addresses": parse_addresses,
    "backing_files": parse_backing_files,
    "blocked": blocked.parse,
    "containers": containers.parse,
    "cpu": parse_cpu,
    "df": parse_df,
    "dependencies": answers,
    "domains": parse_domains,
    "fstab": fstab_options,
    "instance_dirs": lambda text, host: name_lines(text, host, "instance_dirs"),
    "mounts": parse_mounts,
    "partitions": lambda text, host: name_lines(text, host, "partitions"),
    "processes": process_table,
    "rabbitmq_health": rabbitmq.parse_health,
    "rabbitmq_permissions": rabbitmq.parse_grants,
    "rabbitmq_root_queues": rabbitmq.queue_rows,
    "rabbitmq_vhosts": rabbitmq.vhost_names,
    "swift_checksums": parse_checksums,
    "swift_device_health": device_health,
    "swift_devices": lambda text, host: name_lines(text, host, "swift_devices"),
    "swift_device_counts": recon.parse_counts,
    "units": unit_blocks,
}

# real answers of the reads the recorded lab holds none of (or only empty ones), as
# their tools print them
UUID = "1be42712-e6d2-48a0-8028-1de5638b5793"
REAL = {
    "addresses": "10.77.0.31 192.0.2.7 fd00:77::31 \n",
    "backing_files": f"/var/lib/nova/instances/{UUID}/disk\t/var/lib/nova/instances/_base/9f2c\n",
    "blocked": (
        "now 5200.0\n"
        "412\tD\t1\t40\t4\t100.0\t70100.0\tpercpu_rwsem_wait\t-\tpercpu_rwsem_wait,"
        "mnt_want_write\tswift-object-se\n"
        f"{PART} hung\n"
        "[ 5100.123456] INFO: task swift-object-se:412 blocked for more than 120 seconds.\n"
        f"{PART} timeout\n120\n"
    ),
    "partitions": "sda1\nnvme0n1p2\ncciss!c0d0p1\n",
    # list_users, list_permissions -p <vhost> (rabbitmqctl -q ... --no-table-headers): as its
    # table formatter prints them (tabs, tags in brackets), not recorded from the lab
    "rabbitmq_permissions": (
        f"{PART} users\nguest\t[administrator]\nnova\t[]\n"
        f"{PART} vhost /\nguest\t.*\t.*\t.*\nnova\t.*\t\t.*\n{PART} vhost empty\n"
    ),
    # the lab's RabbitMQ 3.10.8: the read's rabbitmqctl eval (tests/data/rabbitmq)
    "rabbitmq_health": (
        Path(__file__).parent / "data" / "rabbitmq" / "ctl_health_vhost_down.txt"
    ).read_text(),
    "rabbitmq_root_queues": "name\tconsumers\tmessages_ready\nconductor\t1\t0\n",
    "rabbitmq_vhosts": "name\n/\nnova\n",
    "swift_device_counts": (
        "now\t1796486080\ndevice\td1\tok\nquarantined\td1\tobjects\t1\t1796485600\n"
        "async\td1\tasync_pending\t3\t1796483680\n"
        "device\td2\terror\tfind: './quarantined': Permission denied\n"
    ),
    "swift_device_health": (
        "ok\td1\nunreadable\td2\tloop1\tls: cannot access '/srv/node/d2': Input/output error\n"
        f"{PART} kernel\n[200.3] XFS (loop1): Log I/O Error (0x6) detected. Shutting down.\n"
    ),
}

# what a read may answer in place of its tool's output: a wrapper's error on stdout, a
# web page, a tool of another format
NOT_THE_READS = (
    "sh: 1: the-tool: not found",
    "Permission denied (publickey,password).",
    "<html><body><h1>502 Bad Gateway</h1></body></html>",
)


def _lab() -> dict[str, list[tuple[str, str]]]:
    """Each read's answers in the recorded lab, by read: (host, text)."""
    doc: dict[str, Any] = json.loads(gzip.decompress(LAB.read_bytes()))
    found: dict[str, list[tuple[str, str]]] = {}
    for host, snap in sorted(doc["hosts"].items()):
        for name, read in sorted(snap["reads"].items()):
            if isinstance(read.get("data"), str) and read.get("rc") == 0:
                found.setdefault(name, []).append((host, read["data"]))
    return found


LAB_READS = _lab()


def _answers(name: str) -> list[tuple[str, str]]:
    real = [(h, t) for h, t in LAB_READS.get(name, []) if t.strip()]
    return real + ([("real", REAL[name])] if name in REAL else [])


# reads whose tools every Linux host has: run here, as the pass runs them on a host
HERE = ("addresses", "blocked", "cpu", "df", "fstab", "mounts", "partitions", "processes")


def test_the_reads_run_here_parse() -> None:
    remote = Remote(HostSpec("here", connection="local"), 10.0, "")
    snap = read_host(remote, list(HERE), 10.0)
    for name in HERE:
        got = snap.reads[name]
        if got.rc == 0:  # a tool this machine lacks (hostname -I) fails the read: not judged
            PARSERS[name](got.stdout, "here")


def test_every_parser_has_real_answers_to_parse() -> None:
    assert all(_answers(name) for name in PARSERS), [n for n in PARSERS if not _answers(n)]


@pytest.mark.parametrize("name", sorted(PARSERS))
def test_what_the_tools_print_parses(name: str) -> None:
    for host, text in _answers(name):
        PARSERS[name](text, host)


@pytest.mark.parametrize("line", NOT_THE_READS, ids=["not-found", "ssh", "html"])
@pytest.mark.parametrize("name", sorted(PARSERS))
def test_a_line_the_tool_does_not_print_is_could_not_run_naming_it(name: str, line: str) -> None:
    for host, text in _answers(name):
        with pytest.raises(CouldNotRun) as got:
            PARSERS[name](f"{line}\n{text}", host)
        assert str(got.value).startswith(f"host {host}: read {name!r}: unexpected line ")
        assert repr(line[:80]) in str(got.value)


def test_the_line_named_is_shortened() -> None:
    long = "x " * 200
    with pytest.raises(CouldNotRun) as got:
        parse_cpu(long, "cmp-01")
    assert str(got.value) == f"host cmp-01: read 'cpu': unexpected line {long[:80]!r}"


# -- the forms that are no answer though each line could be one ---------------------------


def test_df_without_its_inodes_part_or_header_is_could_not_run() -> None:
    ((host, text),) = LAB_READS["df"][:1]
    blocks = text.partition(f"{PART} inodes\n")[0]
    with pytest.raises(CouldNotRun, match="read 'df': unexpected line"):
        parse_df(blocks, host)
    headless = "\n".join(line for line in text.splitlines() if not line.startswith("Filesys"))
    with pytest.raises(CouldNotRun, match="read 'df': unexpected line '/dev/vda"):
        parse_df(headless, host)
    usage = parse_df(text, host)
    root = {u.kind: u.percent for u in usage if u.mount == "/"}
    assert set(root) == {"blocks", "inodes"}
    assert all(isinstance(p, int) and 0 <= p <= 100 for p in root.values()), root


def test_a_df_mount_point_with_blanks_is_whole() -> None:
    text = (
        "Filesystem Type 1024-blocks Used Available Capacity Mounted on\n"
        "/dev/sdb1 vfat 1000 950 50 95% /media/usb stick\n"
        f"{PART} inodes\n"
        "Filesystem Type Inodes IUsed IFree IUse% Mounted on\n"
        "/dev/sdb1 vfat - - - - /media/usb stick\n"
    )
    assert [(u.kind, u.mount, u.percent) for u in parse_df(text, "h")] == [
        ("blocks", "/media/usb stick", 95),
        ("inodes", "/media/usb stick", None),
    ]


def test_swift_device_health_without_its_kernel_part_is_could_not_run() -> None:
    with pytest.raises(CouldNotRun, match=r"read 'swift_device_health': unexpected line 'ok\\td1'"):
        device_health("ok\td1\n", "stor-01")
    assert device_health(f"{PART} kernel\n", "stor-01") == ([], "\n")  # no device: an answer


def test_no_process_blocked_is_an_answer_and_a_blocked_read_needs_its_now_line() -> None:
    assert blocked.parse("now 220.08\n", "cmp-01").samples == {}
    with pytest.raises(CouldNotRun, match="read 'blocked': unexpected line 'now soon'"):
        blocked.parse("now soon\n", "cmp-01")
    with pytest.raises(CouldNotRun, match="unexpected line '@@afterboot-part other'"):
        blocked.parse(f"now 1.0\n412\tD\t1\t1\t1\t1\t1\t-\t-\t-\tx\n{PART} other\n", "cmp-01")


def test_an_empty_answer_is_none_where_none_is_an_answer() -> None:
    assert parse_domains("", "cmp-01") == []
    assert parse_backing_files("", "cmp-01") == {}
    assert name_lines("", "stor-01", "swift_devices") == set()
    assert fstab_options("# nothing to mount\n\n", "cmp-01") == {}
    assert rabbitmq.queue_rows("", "ctl-01") == {}
    assert answers("", "cmp-01") == {}
    assert parse_addresses(" \n", "stor-01") == set()


def test_a_domain_gone_between_list_and_questions_is_left_out_not_garbage() -> None:
    text = f"instance-00000001\t{UUID}\trunning (booted)\ninstance-00000002\t\t\n"
    assert [d.uuid for d in parse_domains(text, "cmp-01")] == [UUID]
    with pytest.raises(CouldNotRun, match="unexpected line 'instance-00000003\\\\tnot-a-uuid"):
        parse_domains("instance-00000003\tnot-a-uuid\trunning (booted)\n", "cmp-01")


def test_a_word_of_hostname_i_that_is_no_address_is_could_not_run() -> None:
    with pytest.raises(CouldNotRun, match=r"read 'addresses': unexpected line '10\.0\.0\.1 eth0'"):
        parse_addresses("10.0.0.1 eth0\n", "stor-01")


def test_a_mount_line_is_six_fields_an_fstab_line_a_mount_point() -> None:
    with pytest.raises(CouldNotRun, match="read 'mounts': unexpected line '/dev/sdb /srv xfs rw'"):
        mount_rows("/dev/sdb /srv xfs rw\n", "stor-01")
    with pytest.raises(CouldNotRun, match="read 'fstab': unexpected line"):
        fstab_options("LABEL=x srv xfs defaults 0 0\n", "stor-01")
    assert fstab_options("/dev/sdb2 none swap sw 0 0\n", "h") == {"none": ("sw",)}


def test_an_older_containers_read_still_parses_and_garbage_in_it_does_not() -> None:
    read = containers.parse("nova_compute running 3 unhealthy\n/rabbitmq running 0 \n", "c")
    assert sorted(read.containers) == ["nova_compute", "rabbitmq"]
    with pytest.raises(CouldNotRun, match="read 'containers': unexpected line 'Error: no"):
        containers.parse("engine podman\nError: no such object: nova\n", "cmp-02")
    with pytest.raises(CouldNotRun, match="read 'containers': unexpected line 'warning"):
        containers.parse(f"engine podman\n{PART} units\nwarning: no bus\n", "cmp-02")


# -- the host's reads, judged through its connection ---------------------------------------


def _remote(reads: dict[str, str]) -> Remote:
    """A host whose collection pass read ``reads`` (read name -> output, exit 0)."""
    remote = Remote(HostSpec("cmp-01", connection="local"), 5.0, "")
    snap = HostSnapshot("cmp-01", started=1.0, ended=2.0)
    snap.reads = {n: ReadResult(n, 0, text) for n, text in reads.items()}
    remote.adopt(snap)
    return remote


def test_systemctl_answers_a_block_for_every_unit_it_is_asked_about() -> None:
    with pytest.raises(CouldNotRun, match="read 'units' \\(no unit in its answer\\)"):
        units(_remote({"units": "\n"}))
    with pytest.raises(CouldNotRun, match="read 'units': unexpected line 'Failed to connect"):
        units(_remote({"units": "Failed to connect to bus: No such file or directory\n"}))


def test_nbd_lines_are_the_reads_own() -> None:
    real = "connected /sys/block/nbd0\nmounted /dev/nbd0p1 on /mnt/x\n"
    assert nbd_in_use(_remote({"nbd": real})) == [
        "connected /dev/nbd0",
        "mounted /dev/nbd0p1 on /mnt/x",
    ]
    with pytest.raises(CouldNotRun, match="read 'nbd': unexpected line 'nbd0 busy'"):
        nbd_in_use(_remote({"nbd": "nbd0 busy\n"}))


def test_a_process_table_of_real_ps_lines_still_judges() -> None:
    table = process_table(
        "top 7\n    1     0  9000 Ss   /sbin/init\n  412     1   900 Sl   /usr/bin/nova-compute\n"
        "   20     2  9000 I<   [kworker/0:1H-kblockd]\n",
        "cmp-01",
    )
    assert process_state(table, "nova-compute").running
    with pytest.raises(CouldNotRun, match="read 'processes': unexpected line 'top seven'"):
        process_table("top seven\n", "cmp-01")
