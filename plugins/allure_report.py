"""Allure: tier as epic, component as feature, check as story, severity, the check ID as: the pytest hooks over :mod:`afterboot.reports.allure`."""

from __future__ import annotations



