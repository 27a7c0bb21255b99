"""One redaction layer for every output: passwords, transport URLs, tokens, command lines.

Plain module. Every text afterboot writes (terminal sections, JUnit properties, Allure
files, summary.json, remediation.sh, evidence, live and file logs) passes through
:func:`redact`; :func:`redact_tree` is the last pass over report directories written by
other plugins.

What it knows about OpenStack, beyond oslo.utils' ``mask_password`` list:

- every userinfo password of a URL, multi-host ones included
  (``rabbit://u:p1@h1:5672,u:p2@h2:5672/``), split at the last ``@`` as SQLAlchemy does;
- options whose name marks a secret (``*password*``, ``*secret*``, ``*token*``,
  ``passphrase``, ``*_key`` unless the value is a path, ``credential*``, ``*pwd``...), in
  INI, YAML, JSON and ``NAME=value`` form; quoted values up to their quote, a line-leading
  or spaced ``name = value`` up to the end of the line (multi-word values);
- swift tempauth ``user_<account>_<user> = <key> .admin``;
- command lines: ``--password X``, ``--os-password=X``, ``mysql -pX``, ``sshpass -p X``;
- the forms other tools print secrets in (:mod:`afterboot.redact_forms`): process tables'
  ``rabbitmqctl add_user``, ``curl -u``, ``ipmitool -P``, ``swift -K``, ``rbd --key``; key
  blocks; ``ec2 credentials`` tables; ``user:pass@host`` without a scheme; password
  hashes; SQL ``IDENTIFIED BY``; ``temp_url_sig``;
- tokens: Keystone fernet, JWS/JWT, PKI, ``X-Auth-Token``, ``Authorization``;
- literal values met in config files during the run (:func:`remember`).

Check IDs, UUIDs, host names, file paths, URL paths (``/auth/tokens``) and option *names*
stay visible: only values are masked. Terminal control characters (ESC, C0 but tab and
line ends, DEL, C1) become ``\\xNN``: every text written passes through here.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus, unquote

from afterboot.redact_forms import MASK, RULES, Rule

MIN_LITERAL = 6  # shorter values would mask ordinary words

# -- literal values learned during the run ----------------------------------------------

_literals: set[str] = set()
_literal_re: re.Pattern[str] | None = None


def remember(secret: str | None) -> None:
    """Mask this exact value (and its URL-encoded forms) wherever it appears later."""
    global _literal_re
    if not secret or len(secret.strip()) < MIN_LITERAL or MASK in secret:
        return
    plain = unquote(secret)
    new = {secret, secret.strip(), plain, quote(plain, safe=""), quote_plus(plain)} - _literals
    if new:
        _literals.update(new)
        ordered = sorted(_literals, key=len, reverse=True)
        _literal_re = re.compile("|".join(re.escape(s) for s in ordered))
        _cached.cache_clear()


def remember_option(name: str, value: str | None) -> None:
    """Remember the secret part of a config option's value (a URL's passwords, or all)."""
    if not value:
        return
    if "://" in value:
        for password in url_passwords(value):
            remember(password)
    elif is_secret_name(name, value):
        remember(value.strip().strip("'\""))


def learned() -> list[str]:
    """The literal values learned so far (handed from xdist workers to the controller)."""
    return sorted(_literals)


def forget_all() -> None:
    """Drop the learned literals (tests)."""
    global _literal_re
    _literals.clear()
    _literal_re = None
    _cached.cache_clear()


# -- URLs ---------------------------------------------------------------------------------

_URL = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://)(\S+)")
_UNTIL_QUOTE = re.compile(r'(?:[^"\\]|\\.)*')


def _split_authority(rest: str) -> tuple[str, str]:
    """``rest`` (after ``://``) as (authority, remainder); userinfo ends at the last ``@``."""
    last_at = rest.rfind("@")
    if last_at < 0:
        return "", rest
    end = len(rest)
    for stop in "/?":
        i = rest.find(stop, last_at)
        if i >= 0:
            end = min(end, i)
    return rest[:end], rest[end:]


_ENTRY = re.compile(r"(.*?)@([^@,/?\s]*)(,|$)", re.S)


def _hosts(authority: str) -> list[tuple[str, str | None, str]]:
    """Each ``user[:password]@host`` entry of a (multi-host) authority, in order; a
    userinfo runs to the last ``@`` before its host."""
    entries: list[tuple[str, str | None, str]] = []
    pos = 0
    while pos < len(authority):
        m = _ENTRY.match(authority, pos)
        if m is None:
            break
        user, colon, password = m.group(1).partition(":")
        entries.append((user, password if colon else None, m.group(2) + m.group(3)))
        pos = m.end()
    if pos < len(authority) and entries:
        user, password, host = entries[-1]
        entries[-1] = (user, password, host + authority[pos:])
    return entries


def url_userinfo(url: str) -> list[tuple[str, str | None, str]]:
    """Each ``(user, password or None, host[:port])`` of a (multi-host) URL, parsed as the
    redaction parses it: a userinfo runs to the last ``@`` before its host."""
    _, sep, rest = url.partition("://")
    if not sep:
        return []
    authority, _ = _split_authority(rest)
    return [(user, password, host.rstrip(",")) for user, password, host in _hosts(authority)]


def url_passwords(text: str) -> list[str]:
    """Every userinfo password of every URL in ``text``."""
    found: list[str] = []
    for m in _URL.finditer(text):
        authority, _ = _split_authority(m.group(2))
        found.extend(p for _, p, _ in _hosts(authority) if p)
    return found


def _mask_url(m: re.Match[str]) -> str:
    token = m.group(2)
    # Inside a JSON or quoted string the URL ends at the unescaped quote, unless the
    # password itself holds a quote (an "@" follows it).
    cut = _UNTIL_QUOTE.match(token)
    if cut and cut.end() < len(token) and "@" not in token[cut.end() :]:
        token, rest = token[: cut.end()], token[cut.end() :]
    else:
        rest = ""
    authority, remainder = _split_authority(token)
    if not authority:
        return m.group(0)
    out = "".join(
        f"{user}:{MASK}@{host}" if password is not None else f"{user}@{host}"
        for user, password, host in _hosts(authority)
    )
    return m.group(1) + out + remainder + rest


# -- option names -------------------------------------------------------------------------

_SECRET_WORDS = (
    "password",
    "passwd",
    "passphrase",
    "secret",
    "credential",
    "apikey",
    "api_key",
    "authkey",
    "auth_key",
    "fernet",
    "cephx",
    "private_key",
    "privatekey",
    "chappassword",
    "key_data",
)
_SECRET_SEGMENTS = {"token", "tokens", "sas"}
# segments that say "secret" only as a name's last one: admin_pass, db_pwd (and not
# account_auditor_pass_completed, a count swift-recon keeps)
_SECRET_LAST = {"pass", "pwd", "pswd", "psk"}
_NOT_SECRET = re.compile(
    r"(?i)^(?:.*_(?:file|path|dir|uri|url|id|uuid|type|len|length|ttl|expiration|timeout"
    r"|format|provider|driver|backend|name|size|enabled|flush|cache_time)|token_cache_time)$"
)


def _segments(name: str) -> list[str]:
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
    return [s for s in re.split(r"[_\-.]+", spaced.lower()) if s]


def is_secret_name(name: str, value: str = "") -> bool:
    """Does an option of this name hold a secret (given its value, for ``*_key``)?"""
    kind = _name_kind(name)
    if kind in ("secret", "plain"):
        return kind == "secret"
    bare = value.strip().strip("'\"")
    if kind == "keyring":  # ceph keyring "key = AQ...==", not "key=value" in prose
        return re.match(r"[A-Za-z0-9+/]{16,}={0,2}(?:\s|$)", bare) is not None
    # fixed_key, memcache_secret_key, encryption_key
    return not bare.startswith(("/", "~", "$", "%")) and not bare.endswith((".pem", ".key", ".crt"))


@functools.lru_cache(maxsize=4096)
def _name_kind(name: str) -> str:
    """What the name alone says: "secret", "plain", or that the value decides ("keyring":
    a bare ``key``; "key": ``*_key``). Names repeat (a process table is thousands of
    ``--option=value``): asked once each."""
    low = name.lower()
    if _NOT_SECRET.match(low) and "password" not in low:
        return "plain"
    if any(word in low for word in _SECRET_WORDS):
        return "secret"
    segments = _segments(name)
    if _SECRET_SEGMENTS & set(segments) or (segments and segments[-1] in _SECRET_LAST):
        return "secret"
    if segments == ["key"]:
        return "keyring"
    return "key" if segments and segments[-1] == "key" else "plain"


_NAME_SEP = re.compile(
    r"""(?mx)
    (?:^|(?<=[\s{(\[,;&?"']))           # start of line, or after a separator
    (?P<q>["']?)(?P<name>[A-Za-z][\w.\-]{0,80})(?P=q)
    (?P<sep>[ \t]*[=:][ \t]*)
    """
)
_IN_STRING = re.compile(r'(?:[^"\\]|\\.)*')
_WORD = re.compile(r'(?:[^\s"\\]|\\.)*')
_QUOTED = re.compile(r""""(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'""")


_BARE_VALUE = re.compile(r"[^\s,}\]]*")


def _value_end(text: str, start: int, name: str, sep: str, at: int, quoted_name: bool) -> int:
    """Where the value of ``name`` that begins at ``start`` ends."""
    eol = text.find("\n", start)
    eol = len(text) if eol < 0 else eol
    if start < len(text) and text[start] in "\"'":
        quoted = _QUOTED.match(text, start)
        return quoted.end() if quoted else eol  # an unbalanced quote: the rest of the line
    if quoted_name:  # JSON, a dict: a bare value (a number, true) ends at , } ] or a blank
        return _BARE_VALUE.match(text, start, eol).end()  # type: ignore[union-attr]
    line_start = not text[text.rfind("\n", 0, at) + 1 : at].strip()
    shell_variable = sep == "=" and name.isupper()  # PGPASSWORD=x psql ...
    if line_start and not shell_variable:
        return eol  # "password = correct horse battery": the rest of the line
    if sep != sep.strip() and not shell_variable:  # mid-line: up to a closing quote
        return _IN_STRING.match(text, start, eol).end()  # type: ignore[union-attr]
    # NAME=value in a command or a message: up to a blank or a closing quote
    return _WORD.match(text, start, eol).end()  # type: ignore[union-attr]


def _mask_assignments(text: str) -> str:
    out, pos = [], 0
    while (m := _NAME_SEP.search(text, pos)) is not None:
        start = end = m.end()
        if _name_kind(m["name"]) != "plain":  # a plain name's value is kept unparsed
            end = _value_end(text, start, m["name"], m["sep"], m.start(), bool(m["q"]))
        value = text[start:end]
        if not value.strip() or value.startswith(MASK) or not is_secret_name(m["name"], value):
            out.append(text[pos:start])
            pos = start
            continue
        quote_char = value[0] if value[0] in "\"'" else ""
        closing = quote_char if len(value) > 1 and value.endswith(quote_char) else ""
        out.append(text[pos:start] + quote_char + MASK + closing)
        pos = end
    out.append(text[pos:])
    return "".join(out)


# -- command lines, tokens, swift tempauth -----------------------------------------------

# Each rule: its pattern, its replacement, and words one of which every match holds
# (lowercase). On an ASCII text a rule runs only where one of its words is found (a pass
# over a process table each is 0.1 s on 100 hosts); on any other text every rule runs
# (Unicode case folding: "(?i)s" also matches U+017F).
_RULES: tuple[Rule, ...] = (
    # --password X, --os-password=X, --os-token X, --secret-key X
    (
        re.compile(
            r"(?i)(--[\w-]*(?:password|passwd|passphrase|token|secret)[\w-]*(?:=|\s+))"
            r"(\"[^\"]*\"|'[^']*'|\S+)"
        ),
        rf"\g<1>{MASK}",
        ("pass", "token", "secret"),
    ),
    # mysql -pSECRET, mysqldump -p'SECRET', sshpass -p SECRET
    (
        re.compile(r"(?i)(\b(?:mysql\w*|mariadb\w*)\b[^\n]*?\s-p)(\"[^\"]*\"|'[^']*'|[^\s\"']+)"),
        rf"\g<1>{MASK}",
        ("mysql", "mariadb"),
    ),
    (re.compile(r"(\bsshpass\s+-p\s*)(\S+)"), rf"\g<1>{MASK}", ("sshpass",)),
    # swift tempauth: user_<account>_<user> = <key> [.admin ...]
    (
        re.compile(
            r"(?m)^([ \t]*user_(?!domain|project|id\b|name\b)[A-Za-z0-9]\w*[ \t]*=[ \t]*)(\S+)"
        ),
        rf"\g<1>{MASK}",
        ("user_",),
    ),
    # HTTP headers carrying credentials
    (
        re.compile(r"(?i)(x-(?:auth|subject|service)-token[\"']?\s*[:=,]\s*[\"']?)[^\s\"',]+"),
        rf"\g<1>{MASK}",
        ("-token",),
    ),
    (
        re.compile(
            r"(?i)(authorization[\"']?\s*[:=,]\s*[\"']?(?:bearer|basic|token|negotiate)?\s*)[^\s\"',]+"
        ),
        rf"\g<1>{MASK}",
        ("authorization",),
    ),
    # fernet tokens (gAAAAA...), JWS/JWT (eyJ...), PKI tokens (MII...): anywhere
    (re.compile(r"gAAAAA[A-Za-z0-9_\-=]{20,}"), MASK, ("gaaaaa",)),
    (re.compile(r"\beyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]*"), MASK, ("eyj",)),
    (re.compile(r"\bMII[A-Za-z0-9+/=]{100,}"), MASK, ("mii",)),
    *RULES,  # the forms other tools print secrets in (afterboot/redact_forms.py)
)

# Terminal control characters (C0 but tab and line ends, DEL, C1): shown as \xNN, so
# no text afterboot writes can move a terminal's cursor, retitle it or clear it.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # one class: a fast search


def _escaped(m: re.Match[str]) -> str:
    if m[0] == "\r" and m.string.startswith("\n", m.end()):
        return "\r"  # a CRLF line end
    return f"\\x{ord(m[0]):02x}"


def redact(text: str) -> str:
    """The text with every secret masked (short texts remembered: reports repeat them;
    the memory is dropped whenever a new secret is learned)."""
    return _cached(text) if len(text) <= CACHED_LEN else _redact(text)


CACHED_LEN = 4096


@functools.lru_cache(maxsize=16384)
def _cached(text: str) -> str:
    return _redact(text)


def _redact(text: str) -> str:
    if _literal_re is not None:
        text = _literal_re.sub(MASK, text)
    if "://" in text:
        text = _URL.sub(_mask_url, text)
    low = text.lower() if text.isascii() else None
    for pattern, replacement, words in _RULES:
        if low is None or any(w in low for w in words):
            text = pattern.sub(replacement, text)
    return _CONTROL.sub(_escaped, _mask_assignments(text))


def redact_obj(obj: Any) -> Any:
    """Every string inside lists, tuples and dicts redacted (keys too)."""
    if isinstance(obj, str):
        return redact(obj)
    if isinstance(obj, dict):
        return {redact_obj(k): redact_obj(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return type(obj)(redact_obj(v) for v in obj)
    return obj


class RedactingFilter(logging.Filter):
    """A logging filter that redacts each record's message and traceback before output."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a bad format string must not lose the record
            message = str(record.msg)
        record.msg, record.args = redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        record.exc_info = None
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


TEXT_SUFFIXES = (".json", ".txt", ".xml", ".properties", ".log", ".sh", ".html", ".csv", ".uri")


def redact_file(path: Path) -> bool:
    """Redact a text file in place; True if it changed. Binary files are left alone."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return False
    clean = redact(text)
    if clean == text:
        return False
    path.write_text(clean, encoding="utf-8")
    return True


def redact_tree(paths: Iterable[Path]) -> int:
    """Redact every text file under the given files/directories; returns files changed."""
    changed = 0
    for root in paths:
        files = [root] if root.is_file() else sorted(root.rglob("*")) if root.is_dir() else []
        for f in files:
            is_text = f.suffix in TEXT_SUFFIXES or "attachment" in f.name
            if f.is_file() and is_text and redact_file(f):
                changed += 1
    return changed
