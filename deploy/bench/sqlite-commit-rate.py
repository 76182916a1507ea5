"""The disk's commit rate for SQLite: one-row commits in a loop for three
seconds, WAL with synchronous=FULL, in a new file under the folder given
(the file system the benchmarks' databases are on). Prints commits per
second: the bound for writes that each wait for their own commit."""
import sqlite3, sys, time, os, tempfile
d = tempfile.mkdtemp(dir=sys.argv[1] if len(sys.argv) > 1 else None)
c = sqlite3.connect(os.path.join(d, "commits.db"), isolation_level=None)
c.execute("PRAGMA journal_mode=WAL"); c.execute("PRAGMA synchronous=FULL")
c.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER)")
n, start = 0, time.monotonic()
while time.monotonic() - start < 3:
    c.execute("BEGIN IMMEDIATE"); c.execute("INSERT INTO t (v) VALUES (?)", (n,)); c.execute("COMMIT"); n += 1
print(f"{n / (time.monotonic() - start):.0f}")
