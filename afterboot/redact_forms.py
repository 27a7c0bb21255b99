"""Redaction rules for secrets in the forms other tools print them (used by
:mod:`afterboot.redact`, which runs a rule only on texts holding one of its words).

- other processes' command lines, as a process table shows them: ``rabbitmqctl add_user
  NAME PASS`` / ``change_password NAME PASS``, ``curl -u user:pass``, ``ipmitool -P pass``,
  ``swift -K key``, ``--key key`` (``rbd``, ``swift``);
- private key blocks (OpenSSH, RSA, EC, PKCS#8, encrypted), a block cut short too;
- the ``Secret`` column of ``openstack ec2 credentials list`` and the ``secret`` row of
  ``... show`` tables;
- credentials without a scheme: ``user:pass@proxy:3128``, ``nova:pass@ctl:5672``;
- password hashes (``$apr1$``, ``$2y$``, ``{SHA}``, crypt's ``$6$``), SQL ``IDENTIFIED BY
  '...'``, swift's ``temp_url_sig=``.
"""

from __future__ import annotations

import re
from collections.abc import Callable

MASK = "***"

Replacement = str | Callable[[re.Match[str]], str]
Rule = tuple[re.Pattern[str], Replacement, tuple[str, ...]]

# a command-line value: quoted, or up to a blank or a quote
_VALUE = r"""("[^"\n]*"|'[^'\n]*'|[^\s"']+)"""
_KEY_CHARS = r"A-Za-z0-9+/=:,\s\\-"  # PEM body and headers; \n inside a JSON string
_KEY_BLOCK = re.compile(
    rf"(-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----)[{_KEY_CHARS}]*?"
    rf"(?:(-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----)|(?=[^{_KEY_CHARS}])|\Z)"
)
_TABLE_WITH_SECRET = re.compile(
    r"(?im)^[ \t]*\|(?:[^|\n]*\|)*?[ \t]*secret[ \t]*\|[^\n]*(?:\n[ \t]*[+|][^\n]*)*"
)
_SECRET_ROW = re.compile(r"(?im)^([ \t]*\|[ \t]*secret[ \t]*\|)([^|\n]*)(?=\|)")


# ":pass@host" (found from its colon: a literal start is the fast search), then its user
_FRAGMENT = re.compile(r":[^\s:@'\"]+(?=@[A-Za-z0-9_\[])")
_USER_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-")


def _fragment(m: re.Match[str]) -> str:
    """``user:pass@`` with a user word before the colon, not inside a longer token."""
    text, start = m.string, m.start()
    begin = start
    while begin > 0 and text[begin - 1] in _USER_CHARS:
        begin -= 1
    if begin == start or text[begin] in ".-" or (begin > 0 and text[begin - 1] in ":@%+"):
        return m[0]
    return ":" + MASK


def _key_block(m: re.Match[str]) -> str:
    return f"{m[1]}{MASK}{m[2] or ''}"


def _cell(cell: str) -> str:
    """A table cell's value masked, the cell as wide as before."""
    return f" {MASK}".ljust(len(cell)) if len(cell) > len(MASK) else MASK


def _secret_column(m: re.Match[str]) -> str:
    lines = m[0].split("\n")
    header = lines[0].split("|")
    column = next(i for i, c in enumerate(header) if c.strip().lower() == "secret")
    out = [lines[0]]
    for line in lines[1:]:
        cells = line.split("|")
        if len(cells) == len(header) and line.lstrip().startswith("|"):
            cells[column] = _cell(cells[column])
        out.append("|".join(cells))
    return "\n".join(out)


def _secret_row(m: re.Match[str]) -> str:
    return m[1] + _cell(m[2])


RULES: tuple[Rule, ...] = (
    # rabbitmqctl add_user NAME PASS, rabbitmqctl change_password NAME PASS
    (
        re.compile(
            r"(\brabbitmqctl\b[^\n]*?\b(?:add_user|change_password)[ \t]+"
            r"(?:\"[^\"\n]*\"|'[^'\n]*'|[^\s\"']+)[ \t]+)" + _VALUE
        ),
        rf"\g<1>{MASK}",
        ("add_user", "change_password"),
    ),
    # curl -u user:pass, --user user:pass, -u 'user:pass'
    (
        re.compile(
            r"(\bcurl\b[^\n]*?[ \t](?:-u[ \t]*|--user(?:=|[ \t]+)))(['\"])([^'\"\n:]*:)[^'\"\n]*\2"
        ),
        rf"\g<1>\g<2>\g<3>{MASK}\g<2>",
        ("curl",),
    ),
    (
        re.compile(r"(\bcurl\b[^\n]*?[ \t](?:-u[ \t]*|--user(?:=|[ \t]+))[^\s:'\"]*:)[^\s'\"]+"),
        rf"\g<1>{MASK}",
        ("curl",),
    ),
    # ipmitool -P pass, swift -K key (capitals: -p and -k are other options)
    (re.compile(r"(\bipmitool\b[^\n]*?[ \t]-P[ \t]*)" + _VALUE), rf"\g<1>{MASK}", ("ipmitool",)),
    (re.compile(r"(\bswift\b[^\n]*?[ \t]-K[ \t]*)" + _VALUE), rf"\g<1>{MASK}", ("swift",)),
    # rbd --key KEY, swift --key KEY (--keyring and --key-file are paths)
    (re.compile(r"((?:^|[ \t])--key(?:=|[ \t]+))(?![/~])" + _VALUE), rf"\g<1>{MASK}", ("--key",)),
    # private key blocks, to their END line (or as far as key text goes)
    (_KEY_BLOCK, _key_block, ("private key",)),
    # openstack ec2 credentials list / show
    (_TABLE_WITH_SECRET, _secret_column, ("secret",)),
    (_SECRET_ROW, _secret_row, ("secret",)),
    # user:pass@host without a scheme (a proxy setting, a mount path)
    (_FRAGMENT, _fragment, ("@",)),
    # password hashes: htpasswd's apr1, bcrypt, {SHA}; crypt's $1$ $5$ $6$ $y$
    (
        re.compile(r"(\$(?:apr1|2[abxy])\$)[^\s:'\",;]+"),
        rf"\g<1>{MASK}",
        ("$apr1$", "$2a$", "$2b$", "$2x$", "$2y$"),
    ),
    (
        re.compile(r"(\$(?:1|5|6|y|gy|7)\$)[./A-Za-z0-9]+\$[./A-Za-z0-9$]+"),
        rf"\g<1>{MASK}",
        ("$1$", "$5$", "$6$", "$y$", "$gy$", "$7$"),
    ),
    (re.compile(r"(?i)(\{S?SHA\})[A-Za-z0-9+/]+=*"), rf"\g<1>{MASK}", ("{sha}", "{ssha}")),
    # SQL: IDENTIFIED BY 'pass', IDENTIFIED WITH plugin BY|AS 'pass'
    (
        re.compile(
            r"(?i)(\bidentified[ \t]+(?:with[ \t]+\S+[ \t]+)?(?:by|as)[ \t]+(?:password[ \t]+)?)"
            r"('(?:[^'\\\n]|\\.|'')*'|\"(?:[^\"\\\n]|\\.)*\")"
        ),
        rf"\g<1>'{MASK}'",
        ("identified",),
    ),
    # swift temporary URLs
    (re.compile(r"(?i)(temp_url_sig=)[^&\s\"'#]+"), rf"\g<1>{MASK}", ("temp_url_sig",)),
)
