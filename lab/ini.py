"""Render INI configuration files."""

from __future__ import annotations

Sections = dict[str, dict[str, object]]


def render(sections: Sections) -> str:
    out: list[str] = ["# written by the afterboot lab"]
    for name, options in sections.items():
        out.append(f"\n[{name}]")
        for key, value in options.items():
            if isinstance(value, bool):
                value = str(value).lower()
            out.append(f"{key} = {value}")
    return "\n".join(out) + "\n"


def authtoken(user: str, password: str, controller: str) -> dict[str, object]:
    return {
        "www_authenticate_uri": f"http://{controller}:5000",
        "auth_url": f"http://{controller}:5000",
        "memcached_servers": f"{controller}:11211",
        "auth_type": "password",
        "project_domain_name": "Default",
        "user_domain_name": "Default",
        "project_name": "service",
        "username": user,
        "password": password,
        "region_name": "RegionOne",
    }
