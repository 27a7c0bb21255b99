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
