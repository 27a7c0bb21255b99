"""Cloud credentials that cannot work end the API checks as *could not run*, one line each."""

from __future__ import annotations

from pathlib import Path

import pytest

CHECK = '''
import pytest

@pytest.mark.check("API-009", tier=15)
def test_api(cloud):
    """Lists projects."""
    list(cloud.identity.projects())
'''


def test_unknown_cloud_name_could_not_run(
    suite: pytest.Pytester, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clouds = tmp_path / "clouds.yaml"
    clouds.write_text("clouds:\n  other:\n    auth: {auth_url: 'http://127.0.0.1:9/v3'}\n")
    monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", str(clouds))
    suite.makepyfile(**{"tests_cloud/test_x.py": CHECK})
    result = suite.runpytest("--os-cloud", "prod")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        ["could not run: cloud 'prod': bad clouds.yaml or OS_* configuration (*prod*)*"]
    )
    assert "Traceback" not in result.stdout.str()


READER = '''
import pytest
import requests
from keystoneauth1 import exceptions as ksa
from openstack import exceptions as sdk

def response(status):
    r = requests.Response()
    r.status_code = status
    r.request = requests.Request("GET", "http://10.0.0.1:8774/v2.1/servers/detail").prepare()
    return r

@pytest.mark.check("NOVA-091", tier=5)
def test_reads_through_a_broken_api():
    """Reads instances; the compute API errs on its side."""
    raise sdk.HttpException(message="boom", response=response(500))

@pytest.mark.check("NOVA-092", tier=5)
def test_reads_through_an_absent_api():
    """Reads instances; nothing listens."""
    raise ksa.ConnectFailure("Unable to establish connection to http://10.0.0.1:8774")

@pytest.mark.check("NOVA-094", tier=5)
def test_reads_through_an_api_without_versions():
    """Reads providers; placement's endpoint answers no version document (it is down)."""
    raise sdk.NotSupported(
        "The placement service for afterboot-lab:RegionOne exists but does not have any "
        "supported versions."
    )

@pytest.mark.check("NOVA-093", tier=5)
def test_a_client_error_is_ours_to_see():
    """A 404 is not the API being down."""
    raise sdk.NotFoundException(message="no such server", response=response(404))
'''


def test_an_api_erring_while_a_check_reads_the_cloud_is_could_not_run(
    suite: pytest.Pytester,
) -> None:
    suite.makepyfile(**{"tests_cloud/test_x.py": READER})
    result = suite.runpytest()
    result.assert_outcomes(errors=3, failed=1)
    result.stdout.fnmatch_lines(
        [
            "could not run: an API answered 500 to GET 10.0.0.1:8774/v2.1/servers/detail*",
            "could not run: an API did not answer while the cloud was read (ConnectFailure;*",
            "could not run: an API's version discovery failed while the cloud was read*",
        ]
    )


def test_broken_clouds_yaml_says_so(
    suite: pytest.Pytester, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clouds = tmp_path / "clouds.yaml"
    clouds.write_text("clouds:\n  prod:\n    auth: {auth_url: [\n")
    monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", str(clouds))
    suite.makepyfile(**{"tests_cloud/test_x.py": CHECK})
    result = suite.runpytest("--os-cloud", "prod")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [f"could not run: cloud 'prod': clouds.yaml is broken ({clouds}:4: invalid YAML (*))*"]
    )
    assert "not found" not in result.stdout.str()
    assert "Traceback" not in result.stdout.str()
