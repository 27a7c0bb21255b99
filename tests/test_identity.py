"""Check identity: IDs present, unique and well-formed; the catalog; tier order."""

from __future__ import annotations

import pytest

from afterboot.checks.catalog import Check, CheckError, format_catalog, parse_marker

GOOD = '''
import pytest

@pytest.mark.check("NOVA-002", tier=4, roles=("compute",))
def test_b():
    """nova-compute is up."""

@pytest.mark.check("DB-001", tier=10)
def test_a():
    """The database answers."""
'''


def test_parse_marker_reads_title_from_docstring() -> None:
    check = parse_marker(pytest.mark.check("NOVA-002", tier=4).mark, "x::t", "First line.\n\nMore")
    assert check == Check("NOVA-002", 4, "First line.", (), check.phases, "x::t")
    assert check.component == "NOVA"


@pytest.mark.parametrize(
    ("mark", "message"),
    [
        (pytest.mark.check("nova-2", tier=4), "not of the form AREA-NNN"),
        (pytest.mark.check("NOVA-002", tier=7), "not a Table 11-1 priority"),
        (pytest.mark.check("NOVA-002", tier=4, roles=("kitchen",)), "unknown role 'kitchen'"),
        (pytest.mark.check("NOVA-002", tier=4, phases=("sometime",)), "unknown phase"),
        (pytest.mark.check("NOVA-002", tier=4, colour="red"), "unknown marker argument"),
        (pytest.mark.check(tier=4), "exactly one ID"),
    ],
)
def test_bad_markers_are_refused(mark: pytest.MarkDecorator, message: str) -> None:
    with pytest.raises(CheckError, match=message):
        parse_marker(mark.mark, "x::t", "doc")


def test_catalog_lines_are_ordered_by_tier() -> None:
    checks = [
        Check("NOVA-001", 99, "api", (), ("post-reboot",), "a"),
        Check("DB-001", 10, "db", ("database",), ("post-reboot",), "b"),
    ]
    lines = format_catalog(checks)
    assert lines[0].split()[:2] == ["ID", "TIER"]
    assert [line.split()[0] for line in lines[1:]] == ["DB-001", "NOVA-001"]


def test_missing_id_stops_collection_with_one_line(suite: pytest.Pytester) -> None:
    suite.makepyfile(**{"tests_cloud/test_x.py": "def test_no_id():\n    pass\n"})
    result = suite.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    errors = [line for line in result.errlines if line.startswith("ERROR")]
    assert errors == [
        "ERROR: tests_cloud/test_x.py::test_no_id: check has no ID; add "
        '@pytest.mark.check("AREA-NNN", tier=N) (IDs are listed by --list-checks)'
    ]
    assert "Traceback" not in result.stdout.str() + result.stderr.str()


def test_duplicate_id_stops_collection(suite: pytest.Pytester) -> None:
    suite.makepyfile(**{"tests_cloud/test_x.py": GOOD.replace("DB-001", "NOVA-002")})
    result = suite.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "ERROR: check ID NOVA-002 is used twice: tests_cloud/test_x.py::test_b and "
            "tests_cloud/test_x.py::test_a"
        ]
    )


def test_parametrized_check_keeps_one_id(suite: pytest.Pytester) -> None:
    suite.makepyfile(
        **{
            "tests_cloud/test_x.py": '''
import pytest

@pytest.mark.check("API-001", tier=15)
@pytest.mark.parametrize("api", ["a", "b"])
def test_api(api):
    """Each API answers."""
'''
        }
    )
    suite.runpytest().assert_outcomes(passed=2)


def test_tests_outside_check_paths_need_no_id(suite: pytest.Pytester) -> None:
    suite.makepyfile(test_plain="def test_plain():\n    pass\n")
    suite.runpytest("test_plain.py").assert_outcomes(passed=1)


def test_list_checks_prints_catalog_and_runs_nothing(suite: pytest.Pytester) -> None:
    suite.makepyfile(
        **{
            "tests_cloud/test_x.py": GOOD
            + """
def test_would_touch_cloud_if_run():
    raise SystemExit("ran")
test_would_touch_cloud_if_run = pytest.mark.check("API-009", tier=99)(
    test_would_touch_cloud_if_run)
test_would_touch_cloud_if_run.__doc__ = "Never runs under --list-checks."
"""
        }
    )
    result = suite.runpytest("--list-checks")
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(
        [
            "ID * TIER * ROLES * PHASES * TITLE",
            "NOVA-002 * 4 * compute * nova-compute is up.",
            "DB-001 * 10 * - * The database answers.",
            "API-009 * 99 *",
        ]
    )
    assert "ran" not in result.stdout.str().replace("no tests ran", "")


def test_run_is_ordered_by_tier_and_filtered_by_phase(suite: pytest.Pytester) -> None:
    suite.makepyfile(
        **{
            "tests_cloud/test_x.py": GOOD
            + '''
@pytest.mark.check("MAINT-001", tier=4, phases=("pre-maintenance",))
def test_drained():
    """The host is drained."""
'''
        }
    )
    result = suite.runpytest("-v")
    result.stdout.fnmatch_lines(["*test_b PASSED*", "*test_a PASSED*", "*1 deselected*"])
    # pre-maintenance asks which host is about to go down
    result = suite.runpytest("-v", "--phase", "pre-maintenance", "--host", "cmp-01")
    result.stdout.fnmatch_lines(["*test_drained PASSED*", "*2 deselected*"])


def test_role_limits_checks(suite: pytest.Pytester) -> None:
    suite.makepyfile(**{"tests_cloud/test_x.py": GOOD})
    result = suite.runpytest("-v", "--role", "compute")
    result.stdout.fnmatch_lines(["*test_b PASSED*", "*test_a PASSED*"])
    suite.makepyfile(
        **{"tests_cloud/test_x.py": GOOD.replace("tier=10)", 'tier=10, roles=("database",))')}
    )
    result = suite.runpytest("-v", "--role", "compute")
    result.stdout.fnmatch_lines(["*test_b PASSED*", "*1 deselected*"])


def test_junit_carries_check_id_and_tier(suite: pytest.Pytester) -> None:
    suite.makepyfile(**{"tests_cloud/test_x.py": GOOD})
    suite.runpytest("--junitxml=out.xml")
    xml = (suite.path / "out.xml").read_text()
    assert '<property name="check_id" value="NOVA-002" />' in xml
    assert '<property name="tier" value="4" />' in xml


def test_missing_id_with_xdist_is_one_line_too(suite: pytest.Pytester) -> None:
    suite.makepyfile(**{"tests_cloud/test_x.py": "def test_no_id():\n    pass\n"})
    result = suite.runpytest_subprocess("-n", "2")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: tests_cloud/test_x.py::test_no_id: check has no ID*"])
    assert "INTERNALERROR" not in result.stdout.str() + result.stderr.str()


def test_collection_error_is_reported_not_crashed(suite: pytest.Pytester) -> None:
    suite.makepyfile(**{"tests_cloud/test_x.py": "import nowhere_to_be_found\n"})
    result = suite.runpytest()
    assert result.ret == pytest.ExitCode.INTERRUPTED
    assert "INTERNALERROR" not in result.stdout.str() + result.stderr.str()
    result.stdout.fnmatch_lines(["*ModuleNotFoundError*nowhere_to_be_found*"])


def test_list_checks_honours_the_phase_and_role_asked_for(suite: pytest.Pytester) -> None:
    suite.makepyfile(
        **{
            "tests_cloud/test_x.py": GOOD
            + '''
@pytest.mark.check("MAINT-001", tier=4, phases=("pre-maintenance",))
def test_drained():
    """The host is drained."""
'''
        }
    )
    every = suite.runpytest("--list-checks").stdout.str()
    assert "MAINT-001" in every
    assert "NOVA-002" in every  # no --phase: the whole catalog
    pre = suite.runpytest("--list-checks", "--phase=pre-maintenance").stdout.str()
    assert "MAINT-001" in pre
    assert "NOVA-002" not in pre
    compute = suite.runpytest("--list-checks", "--role=compute").stdout.str()
    assert "NOVA-002" in compute


def test_a_check_id_is_a_keyword(suite: pytest.Pytester) -> None:
    suite.makepyfile(**{"tests_cloud/test_x.py": GOOD})
    result = suite.runpytest("-k", "DB-001", "--collect-only", "-q")
    result.stdout.fnmatch_lines(["*test_x.py::test_a", "*", "1/2 tests collected*"])
