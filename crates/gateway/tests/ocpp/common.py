"""Shared by the conformance charge points: arguments, the connection, checks and exit codes.

The scripts are an independent OCPP implementation (the `ocpp` package of the Open Charge
Alliance community, which validates every message against the official JSON schemas) acting as a
charge point against Haihe's CSMS. They print `READY <transactionId>` once a transaction runs,
`DONE` at the end, and exit non-zero on any deviation.
"""

import asyncio
import base64
import datetime
import sys

import websockets

FAILURES = []


def check(condition, what):
    """Record a deviation instead of raising, so every deviation of a run is reported."""
    if not condition:
        FAILURES.append(what)
        print(f"DEVIATION: {what}", file=sys.stderr, flush=True)


def now():
    return datetime.datetime.now(datetime.timezone.utc).isoformat().replace("+00:00", "Z")


def parses_as_time(text):
    try:
        datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
        return True
    except (TypeError, ValueError, AttributeError):
        return False


def say(line):
    print(line, flush=True)


async def connect(url, charge_point, password, subprotocol):
    token = base64.b64encode(f"{charge_point}:{password}".encode()).decode()
    ws = await websockets.connect(
        url,
        subprotocols=[subprotocol],
        additional_headers={"Authorization": f"Basic {token}"},
    )
    check(ws.subprotocol == subprotocol, f"subprotocol {ws.subprotocol!r}")
    return ws


def run(main):
    """Runs `main(url, charge_point, password)` with an overall deadline; exit 0 only when no
    deviation was seen."""
    url, charge_point, password = sys.argv[1:4]
    try:
        asyncio.run(asyncio.wait_for(main(url, charge_point, password), timeout=60))
    except Exception as e:  # noqa: BLE001 - any failure is a deviation
        FAILURES.append(f"{type(e).__name__}: {e}")
        print(f"FAILED: {type(e).__name__}: {e}", file=sys.stderr, flush=True)
    if FAILURES:
        print(f"{len(FAILURES)} deviation(s)", file=sys.stderr, flush=True)
        sys.exit(1)
    say("DONE")
    sys.exit(0)
