#!/usr/bin/env python3
"""Runs scim2-tester (an independent SCIM 2.0 compliance checker from PyPI)
against a running Roster: `scim-compliance.py BASE_URL TOKEN`. Prints one
line per check and exits 1 when any check failed or errored."""
import sys

import httpx2 as httpx
from scim2_client.engines.httpx2 import SyncSCIMClient
import scim2_tester.checkers.patch_add as patch_add
import scim2_tester.checkers.patch_replace as patch_replace
import scim2_tester.filling as filling
from scim2_tester import Status, check_server

# Roster's userName is the user's email address (its identity), which RFC
# 7643 §4.1.1 leaves to the service provider to constrain. The checker
# makes up a random hex userName; this one adaptation makes it an address
# (and the same one as the first email, as a provider would send).
_generate = filling.generate_random_value


def _generate_address_for_user_name(context, path, mutability=None, required=None):
    value = _generate(context, path, mutability=mutability, required=required)
    if str(path).endswith("userName") and isinstance(value, str):
        value = f"{value}@example.test"
    return value


for module in (filling, patch_add, patch_replace):
    module.generate_random_value = _generate_address_for_user_name


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
