"""A process is a service by what it *is* (its executable, its python script or module, its
process title), never because its command line names the service; and each instance of
a multi-instance service is judged."""

from __future__ import annotations

import pytest

from afterboot.domains.cmdline import identities
from afterboot.domains.servicemap import SERVICES
from afterboot.domains.services import _by_systemd, process_state, process_table

# real command lines: distributions, kolla, the lab (lab/controlplane.py, lab/compute.py,
# lab/swift.py, lab/ceph.py, lab/install.py's gunicorn launchers)
SERVICE_PROCESSES = [
    ("nova-compute", "/usr/bin/python3 /usr/bin/nova-compute --config-file /etc/nova/nova.conf"),
    ("nova-compute", "/var/lib/kolla/venv/bin/python3 /var/lib/kolla/venv/bin/nova-compute"),
    ("nova-compute", "/usr/libexec/platform-python -s /usr/bin/nova-compute"),
    ("nova-compute", "/usr/bin/python3 -m nova.cmd.compute"),
    ("nova-compute", "nova-compute"),
    ("nova-api", "gunicorn: master [nova-api]"),
    ("nova-api", "(wsgi:nova-api)    -DFOREGROUND"),
    ("nova-api", "/usr/bin/python3 /usr/bin/nova-api-wsgi --port 8774"),
    ("keystone", "/opt/lab/venv/bin/python3 /opt/lab/venv/bin/keystone-api 10.0.0.11:5000"),
    ("keystone", "gunicorn: worker [keystone-api]"),
    ("keystone", "(wsgi:keystone-public) -DFOREGROUND"),
    ("placement-api", "/opt/lab/venv/bin/python3 /opt/lab/venv/bin/placement-api 10.0.0.11:8778"),
    ("ceph-osd", "/usr/bin/ceph-osd -f --cluster ceph -i 0"),
    ("ceph-mon", "/usr/bin/ceph-mon -f --cluster ceph --id storage1"),
    ("libvirtd", "/usr/sbin/libvirtd --listen"),
    ("mariadb", "/usr/sbin/mariadbd --basedir=/usr"),
    ("memcached", "/usr/bin/memcached -u memcache -l 10.0.0.11,127.0.0.1 -p 11211"),
    ("rsync", "/usr/bin/rsync --daemon --no-detach"),
    ("dbus", "/usr/bin/dbus-daemon --system --address=systemd: --nofork"),
    ("rabbitmq", "/usr/lib/erlang/erts-13.1/bin/beam.smp -W w -- -root /usr/lib/erlang -s rabbit"),
    ("swift-object-server", "/usr/bin/python3 /usr/bin/swift-object-server /etc/swift/o.conf"),
    ("sshd", "sshd: /usr/sbin/sshd -D [listener] 0 of 10-100 startups"),
    ("nova-api", "nova-api: uwsgi --ini /etc/nova/nova-api-uwsgi.ini"),
    ("nova-api", "/usr/bin/uwsgi --procname-prefix nova-api --ini /etc/nova/api.ini"),
]

NOT_THE_SERVICE = [
    ("keystone", "tail -f /var/log/keystone/keystone.log"),
    ("nova-compute", "journalctl -fu nova-compute"),
    ("nova-compute", "less /var/log/nova/nova-compute.log"),
    ("nova-compute", "/usr/bin/python3 /usr/bin/nova-manage --log-file nova-compute.log"),
    ("rabbitmq", "tail -F /var/log/rabbitmq/rabbit@ctl.log"),
    ("rsync", "/usr/bin/rsync -a /srv/node/ backup:/srv/node"),
    ("dbus", "/usr/bin/dbus-daemon --session"),
    ("ceph-osd", "grep ceph-osd /var/log/syslog"),
    ("mariadb", "vim /etc/mysql/mariadbd.cnf"),
    ("keystone", "/usr/bin/uwsgi --ini /etc/nova/nova-api.ini --pyargv keystone"),
]


@pytest.mark.parametrize(("name", "args"), SERVICE_PROCESSES)
def test_a_service_process_is_the_service(name: str, args: str) -> None:
    table = process_table(f"top 0\n  100     1   60 Ss   {args}\n")
    assert process_state(table, name).running, (name, identities(args))


@pytest.mark.parametrize(("name", "args"), NOT_THE_SERVICE)
def test_a_command_that_names_the_service_is_not_the_service(name: str, args: str) -> None:
    table = process_table(f"top 0\n  100     1   60 Ss   {args}\n")
    state = process_state(table, name)
    assert not state.running
    assert state.detail == "no process"


def test_identities_are_the_executable_and_its_script() -> None:
    assert identities("/usr/bin/python3 -u -W ignore /usr/bin/nova-conductor x") == (
        "python3",
        "nova-conductor",
    )
    assert identities("tail -f /var/log/keystone/keystone.log") == ("tail",)
    assert identities("python3 -c 'import nova-compute'") == ("python3",)
    assert identities("[nova-conductor] <defunct>") == ("nova-conductor",)


def _unit(uid: str, active: str, sub: str, restarts: str = "0") -> dict[str, str]:
    return {
        "Id": uid,
        "ActiveState": active,
        "SubState": sub,
        "NRestarts": restarts,
        "ExecMainStartTimestamp": "@1000",
    }


def test_one_active_osd_does_not_stand_for_a_failed_one() -> None:
    blocks = {
        "ceph-osd@0.service": _unit("ceph-osd@0.service", "active", "running"),
        "ceph-osd@1.service": _unit("ceph-osd@1.service", "failed", "failed"),
    }
    state = _by_systemd(blocks, SERVICES["ceph-osd"], now=5000.0)
    assert not state.running
    assert (state.unit, state.state, state.detail) == (
        "ceph-osd@1.service",
        "failed",
        "ceph-osd@1.service failed",
    )


def test_every_osd_active_or_merely_inactive_is_running() -> None:
    blocks = {
        "ceph-osd@0.service": _unit("ceph-osd@0.service", "active", "running"),
        "ceph-osd@2.service": _unit("ceph-osd@2.service", "inactive", "dead"),
    }
    assert _by_systemd(blocks, SERVICES["ceph-osd"], now=5000.0).running
