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

Linear in the text, whatever it holds: a host's configuration is evidence, and a line of
megabytes (a secret of megabytes, thousands of brokers with their passwords, a word a rule
looks for at every step) is masked in a pass or two, never once per word.

Check IDs, UUIDs, host names, file paths, URL paths (``/auth/tokens``) and option *names*
stay visible: only values are masked. Terminal control characters (ESC, C0 but tab and
line ends, DEL, C1) become ``\\xNN``: every text written passes through here.
"""

from __future__ import annotations

import functools
import json
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
_longest_first: tuple[str, ...] | None = None  # made on first use after a change
_by_prefix: dict[str, tuple[tuple[int, str], ...]] | None = None
FEW_LITERALS = 64  # up to this many, each is searched for (C speed); past it, one pass


def remember(secret: str | None) -> None:
    """Mask this exact value (and its URL-encoded forms) wherever it appears later.

    Cheap whatever the value (a secret of megabytes, thousands of them): nothing is
    compiled, the masking pass is planned on the next :func:`redact`. A form shorter than
    :data:`MIN_LITERAL` (``%2F%2F%2F`` unquoted) is not learned: it would mask words."""
    global _longest_first, _by_prefix
    if not secret or secret in _literals or len(secret.strip()) < MIN_LITERAL or MASK in secret:
        return
    plain = unquote(secret)
    forms = {secret, secret.strip(), plain, quote(plain, safe=""), quote_plus(plain)}
    new = {f for f in forms if len(f) >= MIN_LITERAL and MASK not in f} - _literals
    if new:
        _literals.update(new)
        _longest_first = _by_prefix = None
        _cached.cache_clear()


_GRAM = 3  # the many-literal pass probes every _STEP-th place of a text, by 3 characters
_STEP = MIN_LITERAL - _GRAM + 1  # a literal holds a probed place at one of its first 4


def _mask_literals(text: str) -> str:
    """Every learned literal in ``text`` masked: the leftmost first, the longest of those
    that start at one place. A few are each searched for (C speed); many are found in one
    pass over the text, linear whatever their number: every fourth place is looked up by
    the three characters there, among the first four of any literal's grams (a literal of
    six characters or more holds a probed place within its first four)."""
    global _longest_first, _by_prefix
    if _longest_first is None:
        _longest_first = tuple(sorted(_literals, key=len, reverse=True))
    if len(_longest_first) <= FEW_LITERALS:
        for literal in _longest_first:
            if literal in text:
                text = text.replace(literal, MASK)
        return text
    if _by_prefix is None:
        grouped: dict[str, list[tuple[int, str]]] = {}
        for literal in _longest_first:
            for offset in range(_STEP):
                grouped.setdefault(literal[offset : offset + _GRAM], []).append((offset, literal))
        _by_prefix = {gram: tuple(group) for gram, group in grouped.items()}
    out: list[str] = []
    done = 0  # the text before this is written out (masked where it had to be)
    for probe in range(0, len(text) - _GRAM + 1, _STEP):
        if probe < done:  # no literal that starts from done holds this place
            continue
        found = [
            (probe - offset, literal)
            for offset, literal in _by_prefix.get(text[probe : probe + _GRAM], ())
            if probe - offset >= done and text.startswith(literal, probe - offset)
        ]
        if found:
            start, literal = min(found, key=lambda f: (f[0], -len(f[1])))
            out.append(text[done:start] + MASK)
            done = start + len(literal)
    return "".join(out) + text[done:] if out else text


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
    global _longest_first, _by_prefix
    _literals.clear()
    _longest_first = _by_prefix = None
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
    return _holds_secret(name, value, 0, len(value))


_KEYRING = re.compile(r"[A-Za-z0-9+/]{16,}={0,2}(?:\s|$)")
_NONBLANK = re.compile(r"\S")


def _holds_secret(name: str, text: str, start: int, end: int) -> bool:
    """:func:`is_secret_name` for the value ``text[start:end]``, read in place: a test of
    its ends, never a copy (a line of many assignments stays linear)."""
    kind = _name_kind(name)
    if kind in ("secret", "plain"):
        return kind == "secret"
    first = _NONBLANK.search(text, start, end)  # the value stripped, then its quotes
    start = first.start() if first else end
    while end > start and text[end - 1].isspace():
        end -= 1
    while start < end and text[start] in "'\"":
        start += 1
    while end > start and text[end - 1] in "'\"":
        end -= 1
    if kind == "keyring":  # ceph keyring "key = AQ...==", not "key=value" in prose
        return _KEYRING.match(text, start, end) is not None
    # fixed_key, memcache_secret_key, encryption_key
    return not text.startswith(("/", "~", "$", "%"), start, end) and not text.endswith(
        (".pem", ".key", ".crt"), start, end
    )


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


class _Line:
    """Where the line of the current assignment ends, and whether its name leads the line;
    each line measured once, and each scan to a quote or a blank remembered: a line of
    thousands of assignments is read a few times, not once per assignment."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.end = -1  # the current line's end (its newline, or the text's end)
        self.first = 0  # where its first non-blank character is
        self.scans: dict[re.Pattern[str], tuple[int, int]] = {}

    def at(self, pos: int) -> None:
        """Make the line holding ``pos`` the current one."""
        if pos <= self.end:
            return
        begin = self.text.rfind("\n", 0, pos) + 1
        end = self.text.find("\n", pos)
        self.end = len(self.text) if end < 0 else end
        word = _NONBLANK.search(self.text, begin, self.end)
        self.first = word.start() if word else self.end

    def scan(self, pattern: re.Pattern[str], start: int) -> int:
        """Where ``pattern`` (tokens of one character or a backslash pair) stops from
        ``start``. A start inside the last scan of the pattern stops where it stopped: the
        character before a value is a separator, never a backslash, so the tokens align."""
        last = self.scans.get(pattern)
        if last is not None and last[0] <= start <= last[1]:
            return last[1]
        stop = pattern.match(self.text, start, self.end).end()  # type: ignore[union-attr]
        self.scans[pattern] = (start, stop)
        return stop


def _value_end(line: _Line, start: int, name: str, sep: str, at: int, quoted_name: bool) -> int:
    """Where the value of ``name`` that begins at ``start`` ends (``at``: where its name
    begins, on the current line)."""
    text, eol = line.text, line.end
    if start < eol and text[start] in "\"'":
        quoted = _QUOTED.match(text, start)
        return quoted.end() if quoted else eol  # an unbalanced quote: the rest of the line
    if quoted_name:  # JSON, a dict: a bare value (a number, true) ends at , } ] or a blank
        return line.scan(_BARE_VALUE, start)
    shell_variable = sep == "=" and name.isupper()  # PGPASSWORD=x psql ...
    if at <= line.first and not shell_variable:
        return eol  # "password = correct horse battery": the rest of the line
    if sep != sep.strip() and not shell_variable:  # mid-line: up to a closing quote
        return line.scan(_IN_STRING, start)
    # NAME=value in a command or a message: up to a blank or a closing quote
    return line.scan(_WORD, start)


def _mask_assignments(text: str) -> str:
    out, pos = [], 0
    line = _Line(text)
    while (m := _NAME_SEP.search(text, pos)) is not None:
        start = end = m.end()
        name = m["name"]
        if _name_kind(name) != "plain":  # a plain name's value is kept unparsed
            line.at(m.start())
            end = _value_end(line, start, name, m["sep"], m.start(), bool(m["q"]))
        if (
            text.startswith(MASK, start, end)
            or _NONBLANK.search(text, start, end) is None
            or not _holds_secret(name, text, start, end)
        ):
            out.append(text[pos:start])
            pos = start
            continue
        quote_char = text[start] if text[start] in "\"'" else ""
        closing = quote_char if end - start > 1 and text[end - 1] == quote_char else ""
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
    # mysql -pSECRET, mysqldump -p'SECRET', sshpass -p SECRET; the -p of the nearest
    # mysql before it (a line of many "mysql" words is read once, not once per word)
    (
        re.compile(
            r"(?i)(\b(?:mysql\w*|mariadb\w*)\b(?:(?!\b(?:mysql|mariadb))[^\n])*?\s-p)"
            r"(\"[^\"]*\"|'[^']*'|[^\s\"']+)"
        ),
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
    if _literals:
        text = _mask_literals(text)
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


def _redact_json(text: str) -> str:
    """A JSON file's text with every string in it redacted as a string: a control character
    JSON escapes (``\\u001b``) is one once read, which no pass over the text sees. The
    text as it is when it is no JSON, or nothing in its strings changes."""
    try:
        data = json.loads(text)
        clean = redact_obj(data)
    except (ValueError, RecursionError):  # no JSON, or nested past what Python reads
        return text
    return text if clean == data else json.dumps(clean, ensure_ascii=False)


def redact_file(path: Path) -> bool:
    """Redact a text file in place (a JSON file's strings too, once read); True if it
    changed. Binary files are left alone."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return False
    clean = redact(text)
    if path.suffix == ".json":
        clean = _redact_json(clean)
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
