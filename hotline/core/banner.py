"""Prints where the platform listens and the demo logins (``make run``)."""

from __future__ import annotations

import argparse

from hotline.core.demo import DEMO_PASSWORD, DEMO_USERS


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", default="http://127.0.0.1:8000/")
    args = parser.parse_args()
    print()
    print(f"  Hotline 12345 is starting at {args.url}")
    print(f"  API docs: {args.url}api/docs    Admin: {args.url}admin/")
    print(f"  Demo logins (password {DEMO_PASSWORD} for all):")
    for username, role_label, full_name, unit_code in DEMO_USERS:
        print(f"    {username:<16} {role_label:<12} {full_name}  [{unit_code}]")
    print()


if __name__ == "__main__":
    main()
