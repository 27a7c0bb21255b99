"""Inline ``!vault`` values of Ansible inventories and their ``group_vars``/``host_vars``.

A value encrypted with ``ansible-vault encrypt_string`` stays encrypted in what
``ansible-inventory --list`` prints (``{"__ansible_vault": "$ANSIBLE_VAULT;..."}``),
whatever vault password it was given. afterboot decrypts only the values it needs (a
host's connection settings, its roles and its deployment tool's settings), all at once
with one ``ansible-vault decrypt``, which takes the vault password where Ansible does
(``ANSIBLE_VAULT_PASSWORD_FILE``, ``vault_password_file`` in ``ansible.cfg``). Any other
vaulted value (a service password in ``group_vars/all``) is never decrypted nor read.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from afterboot.errors import InputError, shown
from afterboot.inventory import commands
from afterboot.inventory.commands import INSTALL_HINT, run_bounded
from afterboot.yamlines import Vaulted

ANSIBLE_VAULT = "ansible-vault"
VAULT_TIMEOUT = 60.0
PASSWORD_HINT = (
    "give afterboot the vault password as Ansible takes it: ANSIBLE_VAULT_PASSWORD_FILE, "
    "or vault_password_file in ansible.cfg"
)
_JSON_KEY = "__ansible_vault"


def from_json(value: Any) -> Any:
    """``ansible-inventory --list``'s ``{"__ansible_vault": ciphertext}`` as :class:`Vaulted`,
    in a value and everything it holds."""
    if isinstance(value, Mapping):
        if set(value) == {_JSON_KEY} and isinstance(value[_JSON_KEY], str):
            return Vaulted(value[_JSON_KEY])
        return {k: from_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [from_json(v) for v in value]
    return value


@dataclass(frozen=True)
class Need:
    """A vaulted value afterboot needs: whose, which variable, where it was set."""

    host: str
    key: str
    where: str
    value: Vaulted


def _reason(stderr: str) -> str:
    if "on prompt for" in stderr or "password prompt" in stderr:
        return "no vault password given"  # it asked, on no terminal
    lines = [" ".join(line.split()) for line in stderr.splitlines() if "ERROR" in line]
    line = next((x for x in lines if "ecrypt" in x), lines[-1] if lines else "no message")
    line = re.sub(r"\s+for /\S+$", "", line.removeprefix("[ERROR]: ").removeprefix("ERROR! "))
    return shown(line, 200, quoted=False)


class Decryptor:
    """Decrypts what afterboot needs, each ciphertext once, many in one command."""

    def __init__(self) -> None:
        self._plain: dict[str, str] = {}

    def prefetch(self, needs: Iterable[Need]) -> None:
        """Decrypt every value of ``needs`` not decrypted yet, in one ``ansible-vault``."""
        todo = [n for n in needs if n.value.ciphertext not in self._plain]
        if todo:
            self._decrypt(todo)

    def reveal(self, need: Need) -> str:
        """The plain text of one needed value (one line naming host and variable if not)."""
        if need.value.ciphertext not in self._plain:
            self._decrypt([need])
        return self._plain[need.value.ciphertext]

    def _decrypt(self, needs: list[Need]) -> None:
        first = needs[0]
        what = f"host {first.host}: {first.key} is vault-encrypted (!vault)"
        command = commands.tool(ANSIBLE_VAULT)
        if command is None:
            raise InputError(
                f"{what}; afterboot decrypts it with {ANSIBLE_VAULT}, which is not installed "
                f"({INSTALL_HINT}), and the vault password (ANSIBLE_VAULT_PASSWORD_FILE)",
                first.where,
            )
        texts = list(dict.fromkeys(n.value.ciphertext for n in needs))
        with tempfile.TemporaryDirectory(prefix="afterboot-vault-") as folder:
            files = []
            for index, text in enumerate(texts):
                path = Path(folder) / f"value-{index}"
                path.write_text(text if text.endswith("\n") else text + "\n")
                files.append(path)
            env = {**os.environ, "ANSIBLE_NOCOLOR": "1"}
            argv = [command, "decrypt", *(str(p) for p in files)]
            try:
                done = run_bounded(argv, env, VAULT_TIMEOUT)
            except subprocess.TimeoutExpired:
                raise InputError(
                    f"{what}; {ANSIBLE_VAULT} did not finish within {VAULT_TIMEOUT:g}s",
                    first.where,
                ) from None
            except OSError as exc:
                raise InputError(
                    f"{what}; cannot run {ANSIBLE_VAULT}: {exc.strerror or exc}", first.where
                ) from None
            if done.returncode != 0:
                raise InputError(
                    f"{what} and {ANSIBLE_VAULT} could not decrypt it "
                    f"({_reason(done.stderr)}); {PASSWORD_HINT}",
                    first.where,
                )
            for text, path in zip(texts, files, strict=True):
                self._plain[text] = path.read_text()
