"""Subprocess helper: try the run lock, print ACQUIRED/LOCKED, hold it for N seconds.

usage: python lock_holder.py DATABASE_URL HOLD_SECONDS [GO_FILE]
With GO_FILE, wait until that file exists before trying (so two holders start together).
"""

import datetime as dt
import os
import sys
import time
from pathlib import Path

from scanner.core.errors import RunLockedError
from scanner.schedule.lock import RunLock
from scanner.store.db import make_engine


def main() -> int:
    url, hold = sys.argv[1], float(sys.argv[2])
    go = Path(sys.argv[3]) if len(sys.argv) > 3 else None
    engine = make_engine(url)
    with engine.connect():
        pass  # warm up the connection pool before the race
    print("READY", flush=True)
    while go is not None and not go.exists():
        time.sleep(0.005)
    lock = RunLock(engine, holder=f"{os.uname().nodename}:{os.getpid()}", stale_after=dt.timedelta(seconds=900))
    try:
        lock.acquire()
    except RunLockedError as exc:
        print(f"LOCKED {exc}", flush=True)
        return 75
    print("ACQUIRED", flush=True)
    time.sleep(hold)
    lock.release()
    return 0


if __name__ == "__main__":
    sys.exit(main())
