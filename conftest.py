"""afterboot: the root conftest only lists the plugins; everything lives in them."""

pytest_plugins = [
    "plugins.options",
    "plugins.redaction",
    "fixtures.inventory",
    "fixtures.connections",
    "fixtures.cloud",
    "fixtures.database",
    "fixtures.nova",
    "fixtures.placement",
    "plugins.identity",
    "plugins.outcomes",
    "plugins.hosts",
    "plugins.findings",
    "plugins.evidence",
    "plugins.blocking",
    "plugins.remediation",
    "plugins.allure_report",
]
