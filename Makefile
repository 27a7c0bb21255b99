# afterboot: the two commands a newcomer runs are `make check` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
REPORTS ?= reports

.PHONY: check test unit matrix lint venv lab-down clean report

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev,ansible]'
	@# the project's bytecode, compiled once as pip does for an installed package (where
	@# PYTHONDONTWRITEBYTECODE is set, each run would compile its ~90 modules again: 0.2 s)
	$(PY) -m compileall -q conftest.py afterboot fixtures plugins tests_cloud lab
	PYTHONDONTWRITEBYTECODE= $(PY) -m pytest --collect-only -q -p no:cacheprovider tests_cloud >/dev/null || true
	touch $@

## Run the suite against the embedded lab (brought up first if needed); reports in reports/.
check: venv
	$(PY) -m lab run -- --alluredir=$(REPORTS)/allure --junitxml=$(REPORTS)/junit.xml $(ARGS)

## Run afterboot's own tests: unit, pytester acceptance, lab end-to-end, the fault matrix.
## The part that needs no lab runs on two workers (it is CPU-bound; the lab's part is not
## and shares one lab, its 25 slowest steps listed); both parts run whatever the first
## one's outcome. What the lab needs is installed meanwhile (mostly downloads: minutes on a
## fresh machine); where that fails, the lab's part says why when it brings the lab up.
test: venv
	@mkdir -p $(REPORTS); $(PY) -m lab install >$(REPORTS)/lab-install.log 2>&1 & i=$$!; \
	u=0; $(PY) -m pytest tests --ignore=tests/lab --ignore=tests/matrix -n 2 $(ARGS) || u=$$?; \
	wait $$i || { echo "test: the lab's install failed (it is tried again):"; \
	tail -5 $(REPORTS)/lab-install.log; }; \
	l=0; $(PY) -m pytest tests/lab tests/matrix --durations=25 $(ARGS) || l=$$?; \
	echo "test: no-lab part status $$u, lab part status $$l"; [ $$u -eq 0 ] && [ $$l -eq 0 ]

## Only what needs no lab (unit and pytester acceptance; a minute).
unit: venv
	$(PY) -m pytest tests --ignore=tests/lab --ignore=tests/matrix $(ARGS)

## The fault matrix alone: every lab fault injected, the suite run, its verdict checked.
matrix: venv
	$(PY) -m pytest tests/matrix $(ARGS)

## Render reports/allure as HTML (reports/allure-html, history kept) if Allure 2 is installed;
## says so in one line and succeeds when it is not.
report:
	@$(PYTHON) -m afterboot.reports.allure_html $(REPORTS) || [ $$? -eq 1 ]

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

lab-down: venv
	$(PY) -m lab down

clean:
	rm -rf $(REPORTS)/* $(VENV)
