"""afterboot: the root conftest only lists the plugins (pytest's hooks, ``plugins/``) and
the fixtures (``fixtures/``); the work is in the ``afterboot`` package.

The verdict's order is declared in :mod:`afterboot.pipeline`, not here. For other
hooks of the same priority pytest calls the last registered first.
"""

pytest_plugins = [
    "plugins.options",
    "plugins.redaction",
    # a saved snapshot judged instead of the cloud read (its inventory among it)
    "plugins.offline",
    # the hosts and how to reach them
    "fixtures.inventory",
    "plugins.inventory",
    "fixtures.connections",
    # what the checks judge: read once, before the first check
    "fixtures.database",
    "fixtures.collection",
    "plugins.collection",
    "fixtures.cloud",
    "plugins.cloud",
    "fixtures.nova",
    "fixtures.placement",
    "fixtures.usage",
    # which checks run, and where
    "plugins.identity",
    "plugins.hostlist",
    # the verdict, and what its stages keep
    "plugins.verdict",
    "plugins.outcomes",
    "plugins.hosts",
    "fixtures.findings",
    "plugins.procedure_book",
    "plugins.evidence",
    "plugins.blocking",
    "plugins.settle",
    "plugins.manifest",
    "plugins.remediation",
    "plugins.waivers",
    "plugins.compare",
    "fixtures.compare",
    "plugins.exitstatus",
    "plugins.prometheus",
    # what a phase needs; the configuration baseline writer
    "plugins.phases",
    "plugins.baseline",
]
