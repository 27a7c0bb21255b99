"""A report's identity (its node id and location) is never rewritten by the redaction
layer: under ``-n 2`` an xdist worker checks that each report it sends is the test it
ran, and a test id that looks like a secret (a host named like a password learned from a
configuration, ``password=x`` as a parameter) crashed the worker (INTERNALERROR). What a
report says is redacted as before."""

from __future__ import annotations

import pytest

CHECKS = '''
import pytest

@pytest.mark.check("NOVA-005", tier=5)
@pytest.mark.parametrize("where", ["admin_password = CANARY1", "plain"])
def test_ids(where):
    """Ids."""
    assert where == "plain", "connection = mysql+pymysql://nova:CANARY2@db/nova refused"
'''


@pytest.mark.parametrize("xdist", [False, True], ids=["serial", "n2"])
def test_a_test_id_like_a_secret_keeps_its_identity(suite: pytest.Pytester, xdist: bool) -> None:
    suite.makepyfile(**{"tests_cloud/test_x.py": CHECKS})
    result = suite.runpytest_subprocess("-p", "xdist", *(["-n", "2"] if xdist else []), "-rA")
    out = result.stdout.str() + result.stderr.str()
    assert "INTERNALERROR" not in out
    result.assert_outcomes(passed=1, failed=1)
    assert "CANARY2" not in out
    assert "mysql+pymysql://nova:***@db/nova" in out
