"""afterboot: the root conftest only lists the plugins; everything lives in them."""

pytest_plugins = [
    "plugins.options",
    "plugins.redaction",
    "fixtures.inventory",
    "plugins.inventory",
    "fixtures.connections",
    "fixtures.database",  # before collection, whose dependency probe parses DSNs with it
    "fixtures.collection",
    "plugins.collection",
    "fixtures.cloud",
    "plugins.cloud",
    "fixtures.nova",
    "fixtures.placement",
    "fixtures.usage",
    "plugins.identity",
    "plugins.hostlist",
    "plugins.verdict",
    "plugins.outcomes",
    "plugins.hosts",
    "fixtures.findings",
    "plugins.procedure_book",  # before the plugins that import it
    "plugins.evidence",
    "plugins.blocking",
    "plugins.settle",  # before remediation, which imports it
    "plugins.manifest",
    "plugins.remediation",
    "plugins.allure_report",
    "plugins.waivers",
    "plugins.compare",
    "fixtures.compare",  # after waivers: a waived failure is no failure to mark new
    "plugins.exitstatus",
    "plugins.prometheus",
    "plugins.phases",
    "plugins.baseline",
]
