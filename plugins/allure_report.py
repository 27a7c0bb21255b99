"""Allure: tier as epic, component as feature, check as story, severity, the check ID as Allure
id; the remediation attached with a link to its procedure; and, once per run on the
controller, ``categories.json`` (cloud broken / check could not run / blocked),
``environment.properties`` and ``executor.json``, the previous HTML report's ``history/``
(``reports/allure-html``, see :mod:`afterboot.reports.allure_html`), then a redaction pass.

The pytest hooks of it; the work is in :mod:`afterboot.reports.allure`.
"""

from __future__ import annotations
