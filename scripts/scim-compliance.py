#!/usr/bin/env python3
"""Runs scim2-tester (an independent SCIM 2.0 compliance checker from PyPI)
against a running Roster: `scim-compliance.py BASE_URL TOKEN`. Prints one
line per check and exits 1 when any check failed or errored."""
import sys

import httpx2 as httpx
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import Status, check_server


def main() -> int:
    base, token = sys.argv[1], sys.argv[2]
    http = httpx.Client(
        base_url=base.rstrip("/") + "/scim/v2",
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    client = SyncSCIMClient(http)
    results = check_server(client, resource_types=["User"])
    bad = 0
    for r in results:
        status = r.status.name if hasattr(r.status, "name") else str(r.status)
        title = getattr(r, "title", "") or ""
        reason = getattr(r, "reason", "") or ""
        print(f"{status:8} {title}{': ' + reason if reason and status != 'SUCCESS' else ''}")
        if r.status in (Status.ERROR,) or status in ("ERROR", "CRITICAL"):
            bad += 1
    passed = sum(1 for r in results if r.status == Status.SUCCESS)
    print(f"scim2-tester: {passed} passed, {bad} failed, {len(results) - passed - bad} other")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
