"""Writes adult-users.csv.gz: the first 4,000 records of UCI Adult (adult.data) with a synthetic user id.

Adult has no user id, so consecutive records are grouped into users of 1 to 8 records (sizes drawn
uniformly with numpy's default_rng(17)). The records of a user are unrelated people: the example shows the
user-level split and aggregation, not a realistic user. Run from the repository root:

    /usr/bin/python3 examples/users/make_users.py ../shared/data/adult/adult.data
"""
import gzip
import sys

import numpy as np

COLUMNS = ["age", "workclass", "fnlwgt", "education", "education-num", "marital-status", "occupation",
           "relationship", "race", "sex", "capital-gain", "capital-loss", "hours-per-week", "native-country",
           "income"]

rows = []
with open(sys.argv[1]) as f:
    for line in f:
        fields = [x.strip() for x in line.split(",")]
        if len(fields) == len(COLUMNS) and "?" not in fields:
            rows.append(fields)
        if len(rows) == 4000:
            break
rng = np.random.default_rng(17)
out = []
user = 0
while len(out) < len(rows):
    size = int(rng.integers(1, 9))
    for _ in range(size):
        if len(out) < len(rows):
            out.append(rows[len(out)] + ["u%04d" % user])
    user += 1
with gzip.GzipFile("examples/users/adult-users.csv.gz", "wb", mtime=0) as g:
    text = [",".join(COLUMNS + ["user"])] + [",".join(r) for r in out]
    g.write(("\n".join(text) + "\n").encode())
print(len(out), "records,", user, "users")
