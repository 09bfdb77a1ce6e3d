"""sqlite3: a database read (through pandas.read_sql too) and one written."""

import sqlite3

if __name__ == "__main__":
    import pandas as pd

    with sqlite3.connect("data/in.db") as src:
        rows = src.execute("select a from t").fetchall()
        frame = pd.read_sql("select a from t", src)
    with sqlite3.connect("out/out.db") as dst:
        dst.execute("create table t (a)")
        dst.executemany("insert into t values (?)", [*rows, (len(frame),)])
